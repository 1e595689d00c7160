// Session store under chaos: two regions (eu, us), a client in each writing its own sessions at
// half the total rate, for as long as the run lasts. Write n goes to session n mod S of its
// region, key `k<(n div S) mod KEYS>`, value n; a session's writes are issued one after another
// (a failed one is retried until it succeeds), so the last write of each key is its largest n.
// Data keys are last-writer-wins by design, so "every write present" means: in both regions, every
// key holds the last value written to it (each earlier write was replaced by a later one of the
// same writer). Checked with raw ioredis on both regions' databases.
import type { PrismClient } from '../../src/client/prism-client';
import { SessionStore } from '../../src/client/session-store';
import { SESSION_REGIONS, type SessionRegion } from './config';
import { examples, retrying, sleep, until, type PatternCheck, type PatternLoad } from './load';
import type { LoadTarget, SessionReader } from './target';

const KEYS = 10;
const WRITES_PER_SESSION_PER_SECOND = 5;
/** Writes wait (and are retried) through an outage up to this many seconds' worth; later ones are skipped. */
const BACKLOG_SECONDS = 30;
const REGIONS = Object.keys(SESSION_REGIONS) as SessionRegion[];

interface RegionWriter {
  region: SessionRegion;
  store: SessionStore;
  sessions: string[];
  /** Per session: writes waiting to be issued, in order. */
  queues: number[][];
  /** Per session and key: the last value written (acknowledged). */
  last: Map<string, number>[];
  issued: number;
}

export class SessionsLoad implements PatternLoad {
  readonly name = 'sessions' as const;
  private readonly writers: RegionWriter[] = [];
  private acked = 0;
  private gaveUp: string[] = [];
  private retries = 0;
  private stopped = false;
  private scheduled = 0;
  /** Writes due while the writers were more than BACKLOG_SECONDS behind: not issued (bounds memory). */
  private skipped = 0;
  private startedAt = 0;
  private endedAt = 0;
  private lanes: Promise<void>[] = [];

  constructor(
    private readonly target: LoadTarget,
    private readonly prism: PrismClient,
    /** Writes per second over both regions. */
    private readonly rate: number,
    /** The most writes the load issues (it also stops when the run says so). */
    private readonly maxWrites: number,
    private readonly deadline: number,
  ) {}

  private get perRegion(): number {
    return Math.max(1, Math.round(this.rate / REGIONS.length / WRITES_PER_SESSION_PER_SECOND));
  }

  describe(): string {
    return `${this.rate.toLocaleString('en-US')} writes/s over two regions (eu, us: ${this.perRegion} sessions each, ${KEYS} keys per session), replicated both ways, until the faults are over`;
  }

  async prepare(): Promise<void> {
    const regions = { eu: ['session-eu'], us: ['session-us'] };
    for (const region of REGIONS) {
      const store = await SessionStore.connect({
        region,
        regions,
        backends: this.target.backends(),
        replication: { client: this.prism.temporal, taskQueue: this.prism.taskQueue },
        defaultTtlSeconds: 3600,
      });
      const sessions: string[] = [];
      for (let i = 0; i < this.perRegion; i++) {
        const s = await retrying(() => store.createSession({ userId: `chaos-${region}-${i}` }), this.deadline);
        sessions.push(s.sessionId);
      }
      this.writers.push({
        region,
        store,
        sessions,
        queues: sessions.map(() => []),
        last: sessions.map(() => new Map()),
        issued: 0,
      });
    }
  }

  start(): void {
    this.startedAt = Date.now();
    for (const w of this.writers) {
      for (let lane = 0; lane < w.sessions.length; lane++) this.lanes.push(this.lane(w, lane));
    }
    void this.schedule();
  }

  /** Writes due at the rate, round-robin over regions and then their sessions. */
  private async schedule(): Promise<void> {
    const t0 = Date.now();
    for (let n = 0; n < this.maxWrites && !this.stopped; n++) {
      const wait = t0 + (n * 1000) / this.rate - Date.now();
      if (wait > 0) await sleep(wait);
      const w = this.writers[n % this.writers.length]!;
      if (this.scheduled - this.acked - this.gaveUp.length > this.rate * BACKLOG_SECONDS) {
        this.skipped++;
        continue;
      }
      const i = w.issued++;
      w.queues[i % w.sessions.length]!.push(i);
      this.scheduled++;
    }
    this.stopped = true;
    this.endedAt = Date.now();
  }

  private async lane(w: RegionWriter, lane: number): Promise<void> {
    const queue = w.queues[lane]!;
    const sessionId = w.sessions[lane]!;
    while (!this.stopped || queue.length > 0) {
      const n = queue.shift();
      if (n === undefined) {
        await sleep(20);
        continue;
      }
      const key = `k${Math.floor(n / w.sessions.length) % KEYS}`;
      try {
        await retrying(
          async () => {
            try {
              await w.store.setData(sessionId, key, n);
            } catch (err) {
              this.retries++;
              throw err;
            }
          },
          this.deadline,
          250,
        );
        w.last[lane]!.set(key, n);
        this.acked++;
      } catch (err) {
        this.gaveUp.push(`${w.region} ${sessionId} ${key}=${n}: ${(err as Error).message}`);
      }
    }
  }

  /** Stops issuing writes (the ones already due are still written). */
  stop(): void {
    this.stopped = true;
    if (!this.endedAt) this.endedAt = Date.now();
  }

  progress(): number {
    return this.acked;
  }

  pending(): boolean {
    return !this.stopped || this.acked + this.gaveUp.length < this.scheduled;
  }

  private mismatches?: string[];
  private compared = 0;

  async finish(deadline: number): Promise<void> {
    this.stop();
    await Promise.race([Promise.all(this.lanes), until(() => false, deadline)]);
    // Replication catches up after the last write: compare until both regions agree or the deadline.
    const readers = Object.fromEntries(REGIONS.map((r) => [r, this.target.sessionReader(r)])) as Record<
      SessionRegion,
      SessionReader
    >;
    try {
      for (;;) {
        this.mismatches = await this.compare(readers);
        if (this.mismatches.length === 0 || Date.now() > deadline) break;
        await sleep(1000);
      }
    } finally {
      for (const r of Object.values(readers)) r.close();
    }
  }

  /** Every session's keys in both regions against the last values written. */
  private async compare(readers: Record<SessionRegion, SessionReader>): Promise<string[]> {
    const wrong: string[] = [];
    this.compared = 0;
    for (const w of this.writers) {
      for (let lane = 0; lane < w.sessions.length; lane++) {
        const sessionId = w.sessions[lane]!;
        for (const region of REGIONS) {
          const raw = await readers[region].get(sessionId).catch(() => null);
          const data = raw
            ? ((JSON.parse(raw) as { data?: Record<string, { value: { j?: unknown } | null }> }).data ?? {})
            : null;
          for (const [key, want] of w.last[lane]!) {
            this.compared++;
            const got = data?.[key]?.value?.j;
            if (got !== want)
              wrong.push(
                `${region}: ${sessionId} (written in ${w.region}) ${key}=${String(got ?? (data ? 'absent' : 'no session'))}, last write ${want}`,
              );
          }
        }
      }
    }
    return wrong;
  }

  async check(): Promise<PatternCheck> {
    const problems: string[] = [];
    const mismatches = this.mismatches ?? ['not compared'];
    if (this.gaveUp.length > 0)
      problems.push(`${this.gaveUp.length} writes failed until the deadline: ${examples(this.gaveUp, 3)}`);
    if (mismatches.length > 0)
      problems.push(`${mismatches.length} keys missing or stale in a region: ${examples(mismatches, 3)}`);
    const seconds = ((this.endedAt || Date.now()) - this.startedAt) / 1000;
    return {
      pattern: this.name,
      ok: problems.length === 0,
      counts: {
        'writes issued': this.scheduled,
        'writes acked': this.acked,
        'write retries': this.retries,
        [`not issued (client over ${BACKLOG_SECONDS} s behind)`]: this.skipped,
        'acked /s': (this.acked / seconds).toFixed(0),
        'keys compared (both regions)': this.compared,
        'missing or stale': mismatches.length,
      },
      problems,
    };
  }

  async close(): Promise<void> {
    this.stop();
    await Promise.all(this.writers.map((w) => w.store.close().catch(() => undefined)));
  }
}
