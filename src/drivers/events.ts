// What a driver reports about work no caller sees fail: background steps inside an operation that
// succeeds anyway (e.g. the CDC source's WAL heartbeat). Drivers cannot log or count themselves
// (nothing above them is theirs to import), so the one who creates them passes a `report` in the
// DriverContext; the worker logs each event and counts it in its metrics.

export type DriverEvent =
  | {
      type: 'cdc_heartbeat_failed';
      slot: string;
      /** The error's message: why the heartbeat failed (e.g. permission denied). */
      reason: string;
      /** Consecutive failures, this one included. */
      failures: number;
      /** When the next heartbeat is tried (backoff doubling with each failure). */
      retryInMs: number;
    }
  | { type: 'cdc_heartbeat_resumed'; slot: string; afterFailures: number };

export type DriverEventReport = (event: DriverEvent) => void;
