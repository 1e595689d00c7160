// What every driver is: a named backend client that declares its capabilities, implements their
// operations, reports health and closes cleanly.
import type {
  Capability,
  CapabilityOperations,
  CdcSnapshot,
  CdcSource,
  KeyValueBasic,
  KeyValueBatch,
  KeyValueCas,
  KeyValueHash,
  KeyValueScan,
  KeyValueTtl,
  OutboxSource,
  LedgerBasic,
  PubSubBasic,
  PubSubBatch,
  QueueBasic,
  StreamBasic,
} from './capabilities';

export interface DriverHealth {
  healthy: boolean;
  detail?: string;
}

export interface DriverBase {
  /** The driver's registered name (redis, postgres, …). */
  readonly driverName: string;
  /** The capabilities this instance implements (may depend on the server's version). */
  readonly capabilities: ReadonlySet<Capability>;
  health(): Promise<DriverHealth>;
  close(): Promise<void>;
}

/** A driver instance: its base plus the operations of whichever capabilities it declares. */
export type Driver = DriverBase & Partial<AllOperations>;

type AllOperations = KeyValueBasic &
  KeyValueTtl &
  KeyValueScan &
  KeyValueBatch &
  KeyValueCas &
  KeyValueHash &
  PubSubBasic &
  PubSubBatch &
  QueueBasic &
  StreamBasic &
  CdcSource &
  CdcSnapshot &
  OutboxSource &
  LedgerBasic;

/** Narrows a driver to a capability's operations after checking its declaration. */
export function hasCapability<C extends Capability>(
  driver: DriverBase,
  capability: C,
): driver is DriverBase & CapabilityOperations[C] {
  return driver.capabilities.has(capability);
}
