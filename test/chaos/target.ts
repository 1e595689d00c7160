// Where the chaos loads run: the backends a worker opens there, and the raw addresses the loads'
// independent checks use. The chaos run's private stack is one target (config.ts chaosTarget),
// the loopback cluster of scripts/cluster another (test/scale/cluster-target.ts).
import type { SessionRegion } from './config';

/** Reads a session's stored record in one region's Redis without the product. */
export interface SessionReader {
  /** The raw JSON the session store keeps for the session (null: none). */
  get(sessionId: string): Promise<string | null>;
  close(): void;
}

export interface LoadTarget {
  /** The worker's backends by the names the loads use: redis, session-eu, session-us (the session regions), nats, pg, kafka. */
  backends(): Record<string, Record<string, unknown>>;
  /** The Postgres of the saga's orders and the CDC source (the pg backend's). */
  readonly postgresUrl: string;
  /** Schema of the saga's orders slot (its ledgers live in <schema>.ledger). */
  readonly sagaSchema: string;
  readonly natsServers: string[];
  /** Subject prefix of the nats backend's pub/sub (the multicast's raw subscriber listens under it). */
  readonly natsSubjectPrefix: string;
  readonly kafkaBrokers: string[];
  sessionReader(region: SessionRegion): SessionReader;
}
