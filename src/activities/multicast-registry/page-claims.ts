// How a paged multicast takes each target on once, even when an attempt at a page fails after
// claiming targets and its retry does not meet them again (the registry's server restarted, so the
// retry's scan started over in another order: those targets now come in later pages).
//
// A claim mark names the page's token and the attempt that took the target (`<token>#<attempt>`);
// the attempt that finishes a page records itself in the page's record. A target marked by
// another page counts as taken only when the mark is that page's recorded attempt: a mark left by
// an attempt whose page finished without it is an orphan, which the page meeting it takes on. Pages
// run one after another, so a page's record is final before any later page reads it. Marks
// without an attempt (written before pages, or by RegistryStore.claim) stay taken for good. Where
// marks and records are kept (one map per multicast, or one key each) is claim-marks.ts's matter.
//
// Not covered: an attempt that goes on after Temporal gave up on it (lost heartbeats) and marks
// targets after its page finished makes orphans of them, so they may be sent and counted twice.
import { claimMarks, type ClaimMarks, type MarkLayout } from './claim-marks';
import { reportRow, type RegistryStore, type TargetClaim } from './registry-store';

const ATTEMPT_SEPARATOR = '#';

/** One page's targets as one attempt took them. */
export interface ClaimedTargets {
  identities: string[];
  /** Of those, targets an attempt at an earlier page claimed but its page did not count. */
  orphans: string[];
}

interface Mark {
  token: string;
  attempt?: string;
}

function parseMark(mark: string): Mark {
  const at = mark.lastIndexOf(ATTEMPT_SEPARATOR);
  return at < 0 ? { token: mark } : { token: mark.slice(0, at), attempt: mark.slice(at + 1) };
}

/** One attempt at one page of a multicast: its claims, then its report row and page record. */
export class PageClaims {
  /** Page token → the attempt that finished it (null: none recorded), as read by this attempt. */
  private readonly finished = new Map<string, string | null>();
  private readonly marks: ClaimMarks;

  /**
   * `attempt`: names this attempt among every attempt at the page (the page's and a lost page's).
   * `layout`: where the multicast keeps its marks, as its workflow decided (see claim-marks.ts).
   */
  constructor(
    store: RegistryStore,
    private readonly registry: string,
    private readonly claim: TargetClaim,
    private readonly attempt: string,
    layout?: MarkLayout,
  ) {
    if (attempt.includes(ATTEMPT_SEPARATOR))
      throw new Error(`a page attempt has no "${ATTEMPT_SEPARATOR}": ${attempt}`);
    this.marks = claimMarks(store, registry, claim.multicastId, layout);
  }

  /**
   * The identities this page may take on, now marked as this attempt's: those never claimed, those
   * an attempt at this same page claimed (a retry), and orphans. One batch read of the marks, one
   * of the records of pages not seen yet, one batch write.
   */
  async take(identities: string[]): Promise<ClaimedTargets> {
    const unique = [...new Set(identities)];
    if (unique.length === 0) return { identities: [], orphans: [] };
    const marks = (await this.marks.readMarks(unique)).map((m) => (m === null ? null : parseMark(m)));
    await this.readFinished(marks);
    const taken: string[] = [];
    const orphans: string[] = [];
    unique.forEach((identity, i) => {
      const mark = marks[i];
      if (mark === null || mark.token === this.claim.token) taken.push(identity);
      else if (mark.attempt !== undefined && this.finished.get(mark.token) !== mark.attempt) {
        taken.push(identity);
        orphans.push(identity);
      }
    });
    const mark = `${this.claim.token}${ATTEMPT_SEPARATOR}${this.attempt}`;
    await this.marks.writeMarks(taken, mark);
    return { identities: taken, orphans };
  }

  /**
   * The page is done with this attempt: its report row (the targets it delivered), then the page's
   * record naming this attempt. Last, after every claim of the attempt.
   */
  async finish(delivered: string[], attempts: number): Promise<void> {
    const row = reportRow(this.registry, this.claim.multicastId, this.claim.token, delivered, attempts);
    await this.marks.finishPage(row, this.claim.token, this.attempt);
  }

  private async readFinished(marks: (Mark | null)[]): Promise<void> {
    const unread = new Set<string>();
    for (const mark of marks) {
      if (mark?.attempt !== undefined && mark.token !== this.claim.token && !this.finished.has(mark.token)) {
        unread.add(mark.token);
      }
    }
    if (unread.size === 0) return;
    const tokens = [...unread];
    const records = await this.marks.readRecords(tokens);
    tokens.forEach((token, i) => this.finished.set(token, records[i]));
  }
}
