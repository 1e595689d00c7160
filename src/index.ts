// The public entry of prism-patterns: everything a user needs to define a pattern, register a
// driver, run a worker from a config and start workflows. The built-in patterns and drivers are
// made from exactly these parts. Workflow code imports `prism-patterns/workflow` instead: this
// module pulls in Node-only code (the worker, the client, driver descriptors).

// Patterns and slots
export {
  definePattern,
  PatternRegistry,
  type ActivityFunction,
  type ActivityMap,
  type PatternActivityContext,
  type PatternConfigView,
  type PatternDefinition,
  type SlotActivityFactories,
} from './sdk/pattern';
export {
  slot,
  isListSlot,
  LIST_SLOT_LIMIT,
  backendTaskQueue,
  capabilityActivityName,
  patternActivityName,
  type BoundSlot,
  type BoundSlots,
  type ListSlotOptions,
  type ListSlotSpec,
  type ResolvedSlots,
  type SlotActivityOptions,
  type SlotBinding,
  type SlotBindings,
  type SlotDeclarer,
  type SlotOptions,
  type SlotSpec,
  type SlotSpecs,
} from './sdk/slot';
export { builtinPatterns } from './patterns/builtin';

// Drivers and capabilities
export {
  CAPABILITIES,
  CAPABILITY_OPERATIONS,
  isCapability,
  type Bytes,
  type Capability,
  type CapabilityOperations,
  type CasResult,
  type CdcSource,
  type ChangeOp,
  type Headers,
  type KeyValueBasic,
  type KeyValueBatch,
  type KeyValueCas,
  type KeyValueScan,
  type KeyValueTtl,
  type Ops,
  type PubSubBasic,
  type PubSubMessage,
  type QueueBasic,
  type QueueMessage,
  type QueueOptions,
  type RowChange,
  type ScanPage,
  type StreamBasic,
  type StreamRecord,
  type Subscription,
  type Versioned,
} from './drivers/capabilities';
export { hasCapability, type Driver, type DriverBase, type DriverHealth } from './drivers/driver';
export { DriverError, isDriverError, isNetworkError, type DriverErrorCode } from './drivers/errors';
export { DriverRegistry, requireClient, type DriverContext, type DriverFactory } from './drivers/registry';
export type { DriverEvent, DriverEventReport } from './drivers/events';
export { builtinDrivers } from './drivers/builtin';
export { DEFAULT_LIMITS, type Limits } from './drivers/limits';

// The worker
export { main as runWorker, type WorkerMainOptions } from './worker';
export { PrismWorker, StartupError, type ExitCode, type PrismWorkerOptions } from './runtime/prism-worker';
export { loadConfig, parseConfig } from './config/load';
export { ConfigError } from './config/errors';
export {
  configSchema,
  type ActivityConfig,
  type BackendConfig,
  type PatternConfig,
  type PrismConfig,
} from './config/schema';
export { createLogger, type LogFields, type Logger, type LogLevel } from './observability/logger';
export {
  BulkheadFullError,
  CircuitOpenError,
  isBulkheadFullError,
  isCircuitOpenError,
  MIN_RETRY_AFTER_MS,
  type BulkheadRejection,
} from './resilience/errors';
export type { HealthReport } from './observability/http-server';

// The client
export { PrismClient, type PrismClientOptions, type Started } from './client/prism-client';
export { PAYLOAD_CONVERTER } from './runtime/workflow-bundle';

// Values in payloads
export { decodeBase64, encodeBase64, utf8 } from './common/base64';
