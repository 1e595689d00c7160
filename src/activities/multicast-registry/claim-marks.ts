// Where a paged multicast keeps its claim marks (which attempt at which page took a target) and
// its page records (which attempt finished a page) in the registry's backend, each for 7 days:
//   'map'  one map per multicast for the marks (`mcr/<registry>/sent/<multicastId>`, field: the
//          identity) and one for the page records (`mcr/<registry>/page/<multicastId>`, field:
//          the page's token), on backends with keyvalue_hash. A multicast adds two keys to the
//          registry's keyspace whatever its size, so later scans (its own next pages, every later
//          multicast and enumerate) do not walk its marks, and a page writes its marks in one call.
//   'keys' one key per target (`mcr/<registry>/sent/<multicastId>/<identity>`) and per page
//          (`mcr/<registry>/page/<multicastId>/<token>`): multicasts begun before the maps (their
//          workflow says so and keeps it to the end), and backends without keyvalue_hash.
// The values are the same in both (see page-claims.ts); a multicast uses one layout throughout.
import { claimKey, type RegistryStore } from './registry-store';

export type MarkLayout = 'keys' | 'map';

/** Where a multicast records, per page, the attempt that finished it: one map, or keys below it. */
export function pageRecordKey(registry: string, multicastId: string): string {
  return `mcr/${registry}/page/${multicastId}`;
}

/** A report row to write with a page's record, as RegistryStore's reportRow makes it. */
export interface RowEntry {
  key: string;
  value: string;
}

/** One multicast's marks and page records in one layout. */
export interface ClaimMarks {
  readonly layout: MarkLayout;
  /** Each identity's mark, null where it has none. */
  readMarks(identities: string[]): Promise<(string | null)[]>;
  writeMarks(identities: string[], mark: string): Promise<void>;
  /** Each page's record (the attempt that finished it), null where it has none. */
  readRecords(tokens: string[]): Promise<(string | null)[]>;
  /** The page's report row (when it has one), then its record naming `attempt`: the record is never written before the row. */
  finishPage(row: RowEntry | undefined, token: string, attempt: string): Promise<void>;
}

/**
 * A multicast's marks in the layout its workflow asked for ('map' where the backend can keep maps,
 * 'keys' otherwise, or when the workflow asked for none: it began before maps).
 */
export function claimMarks(
  store: RegistryStore,
  registry: string,
  multicastId: string,
  asked: MarkLayout | undefined,
): ClaimMarks {
  const marks = claimKey(registry, multicastId);
  const records = pageRecordKey(registry, multicastId);
  // In keys, each mark or record is a key below its map's.
  return asked === 'map' && store.keepsMaps
    ? new MarksInMaps(store, marks, records)
    : new MarksInKeys(store, `${marks}/`, `${records}/`);
}

class MarksInMaps implements ClaimMarks {
  readonly layout = 'map';
  constructor(
    private readonly store: RegistryStore,
    private readonly marks: string,
    private readonly records: string,
  ) {}

  readMarks(identities: string[]): Promise<(string | null)[]> {
    return this.store.readFields(this.marks, identities);
  }

  writeMarks(identities: string[], mark: string): Promise<void> {
    return this.store.writeFields(
      this.marks,
      identities.map((field) => ({ field, value: mark })),
    );
  }

  readRecords(tokens: string[]): Promise<(string | null)[]> {
    return this.store.readFields(this.records, tokens);
  }

  async finishPage(row: RowEntry | undefined, token: string, attempt: string): Promise<void> {
    // Two keys, two writes: the row first, so a recorded page always has its row.
    if (row) await this.store.writeValues([row]);
    await this.store.writeFields(this.records, [{ field: token, value: attempt }]);
  }
}

class MarksInKeys implements ClaimMarks {
  readonly layout = 'keys';
  constructor(
    private readonly store: RegistryStore,
    private readonly marks: string,
    private readonly records: string,
  ) {}

  readMarks(identities: string[]): Promise<(string | null)[]> {
    return this.store.readValues(identities.map((identity) => this.marks + identity));
  }

  writeMarks(identities: string[], mark: string): Promise<void> {
    return this.store.writeValues(identities.map((identity) => ({ key: this.marks + identity, value: mark })));
  }

  readRecords(tokens: string[]): Promise<(string | null)[]> {
    return this.store.readValues(tokens.map((token) => this.records + token));
  }

  async finishPage(row: RowEntry | undefined, token: string, attempt: string): Promise<void> {
    // One write for both where the backend batches.
    const record = { key: this.records + token, value: attempt };
    await this.store.writeValues(row ? [row, record] : [record]);
  }
}
