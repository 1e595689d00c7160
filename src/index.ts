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
export { schemaCheck, type InputCheck } from './sdk/input-check';
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
  type BatchMessage,
  type Bytes,
  type Capability,
  type CapabilityOperations,
  type CaptureStatus,
  type CasResult,
  type CdcSnapshot,
  type CdcSource,
  type ChangeOp,
  type FieldEntry,
  type Headers,
  type KeyValueBasic,
  type KeyValueBatch,
  type KeyValueCas,
  type KeyValueHash,
  type KeyValueScan,
  type KeyValueTtl,
  type Ops,
  type OutboxEntry,
  type OutboxLag,
  type OutboxPosition,
  type OutboxRange,
  type OutboxSource,
  type PubSubBasic,
  type PubSubBatch,
  type PubSubMessage,
  type QueueBasic,
  type QueueMessage,
  type QueueOptions,
  type RowChange,
  type ScanPage,
  type SnapshotInfo,
  type SnapshotScope,
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
export { ConfigError } from './common/config-errors';
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

// Backends: the one way in (driver + circuit breaker + bulkhead + metrics)
export { BackendPool, type BackendPoolOptions } from './runtime/backend-pool';
export type { BackendHandle, BackendHandleBase } from './runtime/backend-handle';
export type { BackendGuard, GuardSnapshot } from './resilience/backend-guard';
export { backendAnswered } from './resilience/backend-answered';
export type { PrismMetrics } from './observability/metrics';
export {
  startTracing,
  tracingSettings,
  type Tracing,
  type TracingConfig,
  type TracingSettings,
} from './observability/tracing';

// The client
export { PrismClient, type PrismClientOptions, type Started } from './client/prism-client';
export { SagaClient, SagaInputError, checkDefinition, checkOrderInput, type SagaSummary } from './client/saga';
export { PAYLOAD_CONVERTER } from './runtime/workflow-bundle';

// Values in payloads
export { decodeBase64, encodeBase64, utf8 } from './common/base64';
