// Every benchmark case, in the order bench/run runs them.
import type { BenchCase } from '../lib/types';
import { resilienceCase } from './resilience';
import { workerCase } from './worker';

export const ALL_CASES: BenchCase[] = [resilienceCase, workerCase];
