// Multicast registry under chaos: `identities` identities registered (the client's direct path),
// then one multicast to all of them. A raw NATS subscriber, connected before the multicast
// starts, records every message per identity; the check wants every target heard at least once
// and every target accounted for in the workflow's report.
import { MulticastRegistryClient, type MulticastHandle } from '../../src/client/multicast-registry';
import type { PrismClient } from '../../src/client/prism-client';
import type { BackendHandle } from '../../src/runtime/backend-handle';
import { connect, type NatsConnection } from '../../src/drivers/nats/client';
import type { MulticastReport } from '../../src/workflows/multicast-registry/input';
import { openBackend } from './config';
import { examples, inParallel, retrying, until, type PatternCheck, type PatternLoad } from './load';
import type { LoadTarget } from './target';

const REGISTER_WIDTH = 200;
const PAYLOAD = 'chaos: drain at 18:00';
const STRAGGLERS_MS = 10_000;

export const identityOf = (i: number): string => `id-${String(i).padStart(6, '0')}`;

export class MulticastLoad implements PatternLoad {
  readonly name = 'multicast' as const;
  private driver?: BackendHandle;
  private nc?: NatsConnection;
  private handle?: MulticastHandle;
  private report?: MulticastReport;
  private reportError?: string;
  /** identity → messages heard by the raw subscriber. */
  private readonly heard = new Map<string, number>();
  private messages = 0;
  private strays = 0;
  private registerMs = 0;

  constructor(
    private readonly target: LoadTarget,
    private readonly prism: PrismClient,
    private readonly registry: string,
    private readonly identities: number,
    private readonly deadline: number,
  ) {}

  describe(): string {
    return `${this.identities.toLocaleString('en-US')} identities registered (direct path), then one multicast to all (Redis registry, NATS messaging)`;
  }

  async prepare(): Promise<void> {
    this.driver = await openBackend(this.target, 'redis');
    const client = new MulticastRegistryClient(this.prism, this.registry, {
      direct: this.driver,
    });
    const t = Date.now();
    await inParallel(this.identities, REGISTER_WIDTH, async (i) => {
      await retrying(
        () => client.register(identityOf(i), { group: i % 10 }, { ttlSeconds: 3600, replace: true }),
        this.deadline,
      );
    });
    this.registerMs = Date.now() - t;
    await this.subscribe();
  }

  /** The raw subscriber: every subject under the messaging backend's prefix, reconnecting forever. */
  private async subscribe(): Promise<void> {
    this.nc = await connect({
      servers: this.target.natsServers,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      name: 'chaos-multicast-listener',
    });
    // Topic `multicast.<registry>.<identity>` is that subject under the backend's prefix.
    const prefix = `${this.target.natsSubjectPrefix}.multicast.${this.registry}.`;
    this.nc.subscribe(`${this.target.natsSubjectPrefix}.>`, {
      callback: (err, msg) => {
        if (err) return;
        if (!msg.subject.startsWith(prefix)) {
          this.strays++;
          return;
        }
        const identity = msg.subject.slice(prefix.length);
        this.messages++;
        this.heard.set(identity, (this.heard.get(identity) ?? 0) + 1);
      },
    });
    await this.nc.flush();
  }

  start(): void {
    void (async () => {
      const client = new MulticastRegistryClient(this.prism, this.registry);
      const workflowId = `chaos-multicast-${this.registry}`;
      // A start that fails while Temporal is down is retried; the fixed id makes it start once.
      this.handle = await retrying(
        async () =>
          client.startMulticast({}, PAYLOAD, { batchSize: 250, concurrency: 8, workflowId }).catch((err: Error) => {
            if (err.name === 'WorkflowExecutionAlreadyStartedError') return client.multicastOf(workflowId);
            throw err;
          }),
        this.deadline,
      );
      this.report = await retrying(() => this.handle!.result(), this.deadline, 1000);
    })().catch((err: Error) => {
      this.reportError = err.message;
    });
  }

  progress(): number {
    return this.messages;
  }

  /** Until the final report: after it, nothing more is sent (a target not heard by then never will be). */
  pending(): boolean {
    return this.reportError === undefined && this.report === undefined;
  }

  async finish(deadline: number): Promise<void> {
    await until(() => !this.pending(), deadline);
    // Messages still in flight when the report came.
    await until(() => this.heard.size >= this.identities, Math.min(deadline, Date.now() + STRAGGLERS_MS));
  }

  async check(): Promise<PatternCheck> {
    const problems: string[] = [];
    const r = this.report;
    const missing: string[] = [];
    for (let i = 0; i < this.identities; i++) if (!this.heard.has(identityOf(i))) missing.push(identityOf(i));
    if (this.reportError) problems.push(`no final report: ${this.reportError}`);
    if (r) {
      if (r.targetCount !== this.identities)
        problems.push(`report counts ${r.targetCount} targets, ${this.identities} were registered`);
      if (r.delivered + r.failed !== r.targetCount || r.pending !== 0 || !r.done)
        problems.push(
          `report does not account for every target: delivered ${r.delivered} + failed ${r.failed} of ${r.targetCount}, pending ${r.pending}, done ${r.done}`,
        );
      if (r.failed > 0)
        problems.push(
          `report: ${r.failed} failed, e.g. ${examples(r.statuses.filter((s) => s.status === 'failed').map((s) => s.identity))}`,
        );
    }
    if (missing.length > 0)
      problems.push(`${missing.length} targets never heard by the subscriber: ${examples(missing)}`);
    const duplicates = this.messages - this.heard.size;
    return {
      pattern: this.name,
      ok: problems.length === 0,
      counts: {
        registered: this.identities,
        'registration s': (this.registerMs / 1000).toFixed(1),
        'report targets': r?.targetCount ?? '—',
        'report delivered': r?.delivered ?? '—',
        'report failed': r?.failed ?? '—',
        'heard (distinct)': this.heard.size,
        'heard again (duplicates)': duplicates,
        'not heard': missing.length,
        'other subjects': this.strays,
      },
      problems,
    };
  }

  async close(): Promise<void> {
    await this.nc?.close().catch(() => undefined);
    await this.driver?.close().catch(() => undefined);
  }
}
