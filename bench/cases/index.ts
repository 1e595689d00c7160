// Every benchmark case, in the order bench/run runs them.
import type { BenchCase } from '../lib/types';
import { cdcCase } from './cdc';
import { multicastCase } from './multicast';
import { resilienceCase } from './resilience';
import { sagaCase } from './saga';
import { sessionReplicationCase } from './session-replication';
import { sessionStoreCase } from './session-store';
import { workerCase } from './worker';

export const ALL_CASES: BenchCase[] = [
  resilienceCase,
  workerCase,
  sessionStoreCase,
  sessionReplicationCase,
  sagaCase,
  multicastCase,
  cdcCase,
];
