// The scale-out run's faults: kill -9 of one process of the cluster at a time (a worker, a
// Temporal history node, the Redis primary, the Kafka partition leader, the NATS stream leader),
// each restarted after a while; and what each did to every pattern, read off a progress
// timeline sampled while it ran.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { PatternLoad, PatternName } from '../chaos/load';
import { sleep, until } from '../chaos/load';
import type { ClusterAddresses } from './cluster-target';
import type { WorkerSlot } from './workers';

const ROOT = resolve(__dirname, '../../..');
const CLUSTER = resolve(ROOT, 'scripts/cluster');

export type ClusterFaultKind = 'worker' | 'temporal-history' | 'redis-primary' | 'kafka-leader' | 'nats-leader';
export const CLUSTER_FAULTS: readonly ClusterFaultKind[] = [
  'worker',
  'temporal-history',
  'redis-primary',
  'kafka-leader',
  'nats-leader',
];

export interface ClusterFaultSpec {
  kind: ClusterFaultKind;
  /** How long the killed process stays down before it is started again. */
  downSeconds: number;
}

export interface ClusterPatternEffect {
  /** The pattern had no work left when the process was killed. */
  idle: boolean;
  /** The longest time without progress from the kill to the first progress after the fault's window. */
  stallMs: number;
  /** Kill → the end of that stall (progress again); null: none seen yet (only while the run goes on). */
  recoveryMs: number | null;
  /** The longest time without progress in the 30 s before the kill, for comparison. */
  usualGapMs: number;
}

export interface ClusterFaultRecord {
  kind: ClusterFaultKind;
  /** The process killed (scripts/cluster's name, or worker-<n>). */
  victim: string;
  /** Why that process (e.g. the leader of which partition). */
  reason: string;
  /** Seconds from the start of the load. */
  killedAt: number;
  /** Kill → the process started again and answering. */
  restartedAfterMs: number;
  /** Kill → the end of the fault's window (every pattern progressed after the restart). */
  windowMs: number;
  effects: Record<PatternName, ClusterPatternEffect>;
  /** Backends whose breaker some worker reported not closed in the window, and kill → last seen so. */
  breakers: { backends: string[]; closedAfterMs: number | null };
}

export interface ClusterFaultControls {
  addresses: ClusterAddresses;
  workers: WorkerSlot[];
  /** The CDC sink topic: its partition leader is the Kafka victim. */
  kafkaTopic: string;
  /** Latest breaker report of the workers' scrapes: time → backends not closed (any worker). */
  breakerLog: { at: number; open: string[] }[];
}

function cluster(args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile(CLUSTER, args, { timeout: 600_000 }, (err, out, stderr) => {
      if (err) rej(new Error(`scripts/cluster ${args.join(' ')} failed: ${stderr || err.message}`));
      else res(out);
    });
  });
}

const hostPort = (s: string): { host: string; port: number } => {
  const [host, port] = s.replace(/^nats:\/\//, '').split(':');
  return { host: host!, port: Number(port) };
};

/** The primary that serves slot 0 and the third of the key space with it (CLUSTER SHARDS of a live node). */
async function redisPrimary(a: ClusterAddresses): Promise<{ victim: string; reason: string }> {
  for (const seed of [...a.redisSeeds, ...[3, 4, 5].map((i) => `127.0.0.1:${hostPort(a.redisSeeds[0]!).port + i}`)]) {
    const r = new Redis({ ...hostPort(seed), lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
    try {
      await r.connect();
      const slots = await r.cluster('SLOTS');
      const first = slots.sort((x, y) => x[0] - y[0])[0]!;
      return { victim: `redis-${first[2]![1]}`, reason: `primary of slots ${first[0]}–${first[1]}` };
    } catch {
      // this node is down: ask the next
    } finally {
      r.disconnect();
    }
  }
  throw new Error('no Redis node answered CLUSTER SLOTS');
}

async function kafkaLeader(a: ClusterAddresses, topic: string): Promise<{ victim: string; reason: string }> {
  const admin = new Kafka({ clientId: 'scale-faults', brokers: a.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const leader = meta.topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader;
    // scripts/cluster numbers its brokers by node.id.
    return { victim: `kafka-${leader}`, reason: `leader of ${topic} partition 0` };
  } finally {
    await admin.disconnect();
  }
}

const KV_STREAM = 'KV_prism_scale';

interface Jsz {
  meta_cluster?: { leader?: string };
  account_details?: { stream_detail?: { name: string; cluster?: { leader?: string } }[] }[];
}

/** The leader of the run's stream (the KV bucket's), else the JetStream meta leader. */
async function natsLeader(a: ClusterAddresses): Promise<{ victim: string; reason: string }> {
  const base = hostPort(a.natsServers[0]!).port + 6; // monitor ports follow the client ports by 6
  for (let i = 0; i < a.natsServers.length; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${base + i}/jsz?streams=true&leader-only=false`, {
        signal: AbortSignal.timeout(3000),
      });
      const jsz = (await res.json()) as Jsz;
      const streams = (jsz.account_details ?? []).flatMap((d) => d.stream_detail ?? []);
      // The loads' multicast rides on core NATS pub/sub: a stream of the run's (the KV bucket's) if
      // there is one, else the meta leader, which every stream's creation goes through.
      const stream = streams.find((s) => s.name.includes(KV_STREAM) && s.cluster?.leader);
      const server = stream?.cluster?.leader ?? jsz.meta_cluster?.leader;
      const n = /prism-nats-(\d+)/.exec(server ?? '')?.[1];
      if (n)
        return { victim: `nats-${n}`, reason: stream ? `leader of stream ${stream.name}` : 'JetStream meta leader' };
    } catch {
      // ask the next node
    }
  }
  throw new Error('no NATS node named a stream leader');
}

interface Fault {
  victim: string;
  reason: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
}

async function prepareFault(f: ClusterFaultSpec, c: ClusterFaultControls): Promise<Fault> {
  const viaCluster = async (found: { victim: string; reason: string }, piece: string): Promise<Fault> => ({
    ...found,
    kill: async () => void (await cluster(['kill', found.victim])),
    restart: async () => void (await cluster(['up', piece])),
  });
  switch (f.kind) {
    case 'worker': {
      const slot = c.workers[1 % c.workers.length]!;
      return {
        victim: `worker-${slot.index + 1}`,
        reason: `pid ${slot.pid}`,
        kill: () => slot.kill(),
        restart: () => slot.start(),
      };
    }
    case 'temporal-history':
      return viaCluster({ victim: 'temporal-3', reason: 'history + matching (process 3)' }, 'temporal');
    case 'redis-primary':
      return viaCluster(await redisPrimary(c.addresses), 'redis');
    case 'kafka-leader':
      return viaCluster(await kafkaLeader(c.addresses, c.kafkaTopic), 'kafka');
    case 'nats-leader':
      return viaCluster(await natsLeader(c.addresses), 'nats');
  }
}

/** Progress of every load, sampled in the background. */
export class ProgressTimeline {
  private readonly samples = new Map<PatternName, { at: number; value: number }[]>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly loads: readonly PatternLoad[]) {
    for (const l of loads) this.samples.set(l.name, []);
  }

  start(everyMs = 250): void {
    const sample = (): void => {
      const now = Date.now();
      for (const l of this.loads) {
        const s = this.samples.get(l.name)!;
        const value = l.progress();
        if (s.length === 0 || s[s.length - 1]!.value !== value) s.push({ at: now, value });
      }
    };
    sample();
    this.timer = setInterval(sample, everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Times progress was seen to grow in (from, to]. */
  private increments(p: PatternName, from: number, to: number): number[] {
    return this.samples
      .get(p)!
      .filter((s) => s.at > from && s.at <= to)
      .map((s) => s.at);
  }

  /**
   * The longest gap between successive progress from `from` on, up to and including the first
   * progress after `to` (so a stall that outlasts the fault's window is measured whole); null:
   * no progress after `from` to the end of the run.
   */
  stallAfter(p: PatternName, from: number, to: number): { gapMs: number; endedAt: number } | null {
    const times = this.samples
      .get(p)!
      .filter((s) => s.at > from)
      .map((s) => s.at);
    if (times.length === 0) return null;
    const firstAfter = times.findIndex((t) => t > to);
    let best = { gapMs: 0, endedAt: times[0]! };
    let prev = from;
    for (const t of firstAfter === -1 ? times : times.slice(0, firstAfter + 1)) {
      if (t - prev > best.gapMs) best = { gapMs: t - prev, endedAt: t };
      prev = t;
    }
    return best;
  }

  /** The longest gap without progress in [from, to], and when it ended (null: it lasted to `to`). */
  longestGap(p: PatternName, from: number, to: number, trailing: boolean): { gapMs: number; endedAt: number | null } {
    const times = this.increments(p, from, to);
    let best = { gapMs: 0, endedAt: null as number | null };
    let prev = from;
    for (const t of times) {
      if (t - prev > best.gapMs) best = { gapMs: t - prev, endedAt: t };
      prev = t;
    }
    if (trailing && to - prev > best.gapMs) best = { gapMs: to - prev, endedAt: null };
    return best;
  }
}

/**
 * After the run, with the whole timeline: each pattern's longest stall after each kill and when
 * it ended. A pattern that never progressed again after a kill had nothing left to show (e.g.
 * every multicast target heard, its final report still to come): no work left; the checks say
 * whether anything was missing.
 */
export function measureEffects(records: ClusterFaultRecord[], timeline: ProgressTimeline, t0: number): void {
  for (const r of records) {
    const killed = t0 + r.killedAt * 1000;
    for (const [p, e] of Object.entries(r.effects) as [PatternName, ClusterPatternEffect][]) {
      if (e.idle) continue;
      const stall = timeline.stallAfter(p, killed, killed + r.windowMs);
      if (stall === null) e.idle = true;
      else Object.assign(e, { stallMs: stall.gapMs, recoveryMs: stall.endedAt - killed });
    }
  }
}

/**
 * Injects each fault in turn: kill, down for a while, start again; then waits until every
 * pattern with work left progressed after the restart and the breakers closed (or the limit),
 * then settleMs more, so faults do not overlap.
 */
export async function runClusterFaults(
  faults: readonly ClusterFaultSpec[],
  controls: ClusterFaultControls,
  loads: readonly PatternLoad[],
  timeline: ProgressTimeline,
  t0: number,
  options: { recoveryLimitMs: number; settleMs: number; log: (line: string) => void },
): Promise<ClusterFaultRecord[]> {
  const records: ClusterFaultRecord[] = [];
  for (const f of faults) {
    const fault = await prepareFault(f, controls);
    const idle = new Map(loads.map((l) => [l.name, !l.pending()]));
    const killed = Date.now();
    options.log(`fault ${f.kind}: kill -9 ${fault.victim} (${fault.reason}), down ${f.downSeconds} s`);
    await fault.kill();
    await sleep(f.downSeconds * 1000);
    await fault.restart();
    const restarted = Date.now();
    options.log(`fault ${f.kind}: ${fault.victim} started again after ${((restarted - killed) / 1000).toFixed(1)} s`);
    const atRestart = new Map(loads.map((l) => [l.name, l.progress()]));
    const breakersClosed = (): boolean => {
      const last = controls.breakerLog[controls.breakerLog.length - 1];
      return !last || last.at < restarted || last.open.length === 0;
    };
    await until(
      () => loads.every((l) => !l.pending() || l.progress() > atRestart.get(l.name)!) && breakersClosed(),
      restarted + options.recoveryLimitMs,
      100,
    );
    const end = Date.now();
    const effects = Object.fromEntries(
      loads.map((l) => {
        const gap = timeline.longestGap(l.name, killed, end, l.pending());
        const usual = timeline.longestGap(l.name, Math.max(t0, killed - 30_000), killed, false);
        // A stall that lasted to the end of the window of a pattern with work left: not recovered.
        const recoveryMs = gap.endedAt !== null ? gap.endedAt - killed : l.pending() ? null : 0;
        return [l.name, { idle: idle.get(l.name)!, stallMs: gap.gapMs, recoveryMs, usualGapMs: usual.gapMs }];
      }),
    ) as Record<PatternName, ClusterPatternEffect>;
    const inWindow = controls.breakerLog.filter((b) => b.at >= killed && b.at <= end && b.open.length > 0);
    const breakers = {
      backends: [...new Set(inWindow.flatMap((b) => b.open))].sort(),
      closedAfterMs: inWindow.length > 0 ? inWindow[inWindow.length - 1]!.at - killed : null,
    };
    records.push({
      kind: f.kind,
      victim: fault.victim,
      reason: fault.reason,
      killedAt: (killed - t0) / 1000,
      restartedAfterMs: restarted - killed,
      windowMs: end - killed,
      effects,
      breakers,
    });
    const summary = loads
      .map((l) => {
        const e = effects[l.name];
        if (e.idle) return `${l.name} idle`;
        if (e.recoveryMs === null) return `${l.name} no progress yet`;
        return `${l.name} stall ${(e.stallMs / 1000).toFixed(1)} s, going again at +${(e.recoveryMs / 1000).toFixed(1)} s`;
      })
      .join('; ');
    options.log(`fault ${f.kind}: ${summary}; breakers ${breakers.backends.join(',') || 'closed'}`);
    await sleep(options.settleMs);
  }
  return records;
}
