// The scale-out run's workers: several worker processes on one task queue, each with its own
// /metrics, scraped every few seconds so the work each did is known even after it was SIGKILLed
// (a killed process's counters die with it: the last scrape of each incarnation is kept).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scrapedSeries } from '../helpers/guard-metrics';
import { startWorker, type WorkerProcess } from '../helpers/worker-process';

const SCRAPE_MS = 2000;

/** What one worker did, from its metrics: activities and workflow tasks by pattern, driver calls. */
export interface WorkerWork {
  activities: Record<string, number>;
  workflowTasks: Record<string, number>;
  /** Driver calls by pattern (the `operation` label is the calling activity's type). */
  driverOperations: Record<string, number>;
  /** Backends whose breaker is not closed (state > 0) at the scrape. */
  breakersNotClosed: string[];
}

const emptyWork = (): WorkerWork => ({
  activities: {},
  workflowTasks: {},
  driverOperations: {},
  breakersNotClosed: [],
});

/** The pattern an activity or workflow type belongs to: `saga.orders.reserveStock` → saga. */
function patternOf(type: string): string {
  if (type.startsWith('multicast')) return 'multicast';
  if (type.startsWith('session')) return 'sessions';
  if (/^(cdc|pipeline)/i.test(type)) return 'cdc';
  if (/saga/i.test(type)) return 'saga';
  return type.split('.')[0] ?? type;
}

function addTo(into: Record<string, number>, key: string, n: number): void {
  into[key] = (into[key] ?? 0) + n;
}

export function workFromMetrics(text: string): WorkerWork {
  const work = emptyWork();
  for (const s of scrapedSeries(text, 'prism_temporal_activity_execution_latency_seconds_count'))
    addTo(work.activities, patternOf(s.labels.activity_type ?? ''), s.value);
  for (const s of scrapedSeries(text, 'prism_temporal_workflow_task_execution_latency_seconds_count'))
    addTo(work.workflowTasks, patternOf(s.labels.workflow_type ?? ''), s.value);
  for (const s of scrapedSeries(text, 'prism_driver_operations_total'))
    addTo(work.driverOperations, patternOf(s.labels.operation ?? ''), s.value);
  work.breakersNotClosed = scrapedSeries(text, 'prism_circuit_breaker_state')
    .filter((s) => s.value > 0)
    .map((s) => s.labels.backend ?? '?');
  return work;
}

function sum(a: WorkerWork, b: WorkerWork): WorkerWork {
  const out = emptyWork();
  for (const w of [a, b]) {
    for (const [k, v] of Object.entries(w.activities)) addTo(out.activities, k, v);
    for (const [k, v] of Object.entries(w.workflowTasks)) addTo(out.workflowTasks, k, v);
    for (const [k, v] of Object.entries(w.driverOperations)) addTo(out.driverOperations, k, v);
  }
  return out;
}

export class WorkerSlot {
  private proc?: WorkerProcess;
  /** Work of the incarnations that ended (their last scrape). */
  private ended = emptyWork();
  private current = emptyWork();
  incarnations = 0;

  constructor(
    readonly index: number,
    private readonly config: Record<string, unknown>,
    private readonly logDir: string,
  ) {}

  get pid(): number | undefined {
    return this.proc?.proc.pid;
  }

  async start(): Promise<void> {
    this.proc = await startWorker(this.config, { readyTimeoutMs: 180_000 });
    this.incarnations++;
    this.current = emptyWork();
  }

  async scrape(): Promise<WorkerWork | undefined> {
    const p = this.proc;
    if (!p || p.proc.exitCode !== null || p.proc.signalCode !== null) return undefined;
    try {
      const res = await fetch(`http://127.0.0.1:${p.httpPort}/metrics`, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) return undefined;
      const work = workFromMetrics(await res.text());
      if (p === this.proc) this.current = work;
      return work;
    } catch {
      return undefined;
    }
  }

  /** Everything this slot's incarnations did, as last scraped. */
  work(): WorkerWork {
    return sum(this.ended, this.current);
  }

  private keepLog(): void {
    if (!this.proc) return;
    mkdirSync(this.logDir, { recursive: true });
    writeFileSync(join(this.logDir, `worker-${this.index + 1}-${this.incarnations}.log`), this.proc.output());
  }

  /** SIGKILL: the work since the last scrape (at most SCRAPE_MS) goes uncounted. */
  async kill(): Promise<void> {
    await this.scrape();
    this.keepLog();
    await this.proc?.stop('SIGKILL');
    this.ended = sum(this.ended, this.current);
    this.current = emptyWork();
  }

  async stop(): Promise<void> {
    if (!this.proc) return;
    await this.scrape();
    this.keepLog();
    const p = this.proc;
    const timer = setTimeout(() => p.proc.kill('SIGKILL'), 30_000);
    await p.stop('SIGTERM');
    clearTimeout(timer);
    this.ended = sum(this.ended, this.current);
    this.current = emptyWork();
    this.proc = undefined;
  }
}

/** Scrapes every slot in the background; `onScrape` sees each answer (breaker states). */
export function scrapeEvery(slots: WorkerSlot[], onScrape: (slot: WorkerSlot, work: WorkerWork) => void): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void Promise.all(
      slots.map(async (s) => {
        const w = await s.scrape();
        if (w) onScrape(s, w);
      }),
    ).finally(() => (busy = false));
  }, SCRAPE_MS);
  return () => clearInterval(timer);
}
