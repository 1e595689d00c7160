// Worker start-up (process start → /ready), resident memory and CPU when idle, for a worker that
// loads only the Redis client (lazy drivers) next to one that loads every driver's client.
// Idle CPU: the share of one core the worker uses over IDLE_CPU_SECONDS after /ready (20 s; 5 s
// with --quick), read from /proc, and again once settled: over SETTLED_CPU_SECONDS from
// SETTLED_AFTER_SECONDS after /ready, past the start-up's last garbage collections (V8 shrinks
// the heaps it grew while starting some 10 and 25 s after start). A worker polling or ticking for
// nothing shows in the settled figure.
// The worker's memory under load is measured by the multicast case, while it runs the multicasts.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { cpuPercentOver } from '../lib/cpu';
import { rssMiB } from '../lib/rss';
import type { BenchCase, Measurement } from '../lib/types';

const WORKER = resolve(__dirname, '../../src/worker.js');
const QUICK = process.env.BENCH_QUICK === '1';
const IDLE_CPU_SECONDS = QUICK ? 5 : 20;
const SETTLED_AFTER_SECONDS = 30;
const SETTLED_CPU_SECONDS = QUICK ? 10 : 30;

function config(backends: Record<string, unknown>, store: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'prism-bench-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    stringify({
      temporal: { task_queue: `bench-startup-${process.pid}-${Date.now()}` },
      worker: { http_port: 0, temporal_metrics_port: 0 },
      backends,
      patterns: { 'kv-probe': { slots: { store } } },
    }),
  );
  return file;
}

// The baseline preloads every driver's client library, as a worker without lazy loading would.
const ALL_CLIENTS = ['ioredis', 'pg', 'kafkajs', '@nats-io/transport-node', '@nats-io/jetstream', '@nats-io/kv'];

async function startup(
  file: string,
  preload: string[] = [],
): Promise<{ readyMs: number; rssMiB: number; idleCpu: number; settledCpu: number }> {
  const start = performance.now();
  const args = [...preload.flatMap((m) => ['--require', m]), WORKER, '--config', file];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    for (;;) {
      const port = /"http":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out)?.[1];
      if (
        port &&
        (await fetch(`http://127.0.0.1:${port}/ready`).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        const ready = performance.now();
        const readyMs = ready - start;
        await new Promise((r) => setTimeout(r, 1000));
        const rss = rssMiB(proc.pid!);
        const idleCpu = await cpuPercentOver(proc.pid!, IDLE_CPU_SECONDS * 1000);
        const settledAt = ready + SETTLED_AFTER_SECONDS * 1000;
        await new Promise((r) => setTimeout(r, Math.max(0, settledAt - performance.now())));
        const settledCpu = await cpuPercentOver(proc.pid!, SETTLED_CPU_SECONDS * 1000);
        return { readyMs, rssMiB: rss, idleCpu, settledCpu };
      }
      if (proc.exitCode !== null) throw new Error(`worker exited: ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
}

export const workerCase: BenchCase = {
  id: 'worker',
  title: 'Worker start-up and idle memory',
  about: `A worker with the Redis backend only (drivers load lazily) beside the same worker with every driver client preloaded; RSS read from /proc 1 s after /ready, idle CPU (% of one core, user + system) over the ${IDLE_CPU_SECONDS} s after that (the start-up's garbage collections included), and settled over ${SETTLED_CPU_SECONDS} s from ${SETTLED_AFTER_SECONDS} s after /ready. The worker under load is in the multicast section (RSS rows); a worker with an idle CDC pipeline is in the CDC section.`,
  async run(): Promise<Measurement[]> {
    const redisOnly = config({ cache: { driver: 'redis' } }, 'cache');
    const lean = await startup(redisOnly);
    const full = await startup(redisOnly, ALL_CLIENTS);
    return [
      {
        name: 'start → /ready (Redis only vs all five drivers)',
        unit: 'ms',
        better: 'lower',
        ours: lean.readyMs,
        baseline: full.readyMs,
        baselineName: 'all five drivers',
      },
      {
        name: 'idle RSS (Redis only vs all five drivers)',
        unit: 'MiB',
        better: 'lower',
        ours: lean.rssMiB,
        baseline: full.rssMiB,
        baselineName: 'all five drivers',
      },
      {
        name: `idle CPU over ${IDLE_CPU_SECONDS} s (Redis only vs all five drivers)`,
        unit: '% of a core',
        better: 'lower',
        ours: lean.idleCpu,
        baseline: full.idleCpu,
        baselineName: 'all five drivers',
      },
      {
        name: `idle CPU settled, ${SETTLED_CPU_SECONDS} s from ${SETTLED_AFTER_SECONDS} s after /ready (Redis only vs all five drivers)`,
        unit: '% of a core',
        better: 'lower',
        ours: lean.settledCpu,
        baseline: full.settledCpu,
        baselineName: 'all five drivers',
      },
    ];
  },
};
