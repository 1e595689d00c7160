// The workflow-safe entry, `prism-patterns/workflow`: what pattern workflow code may import
// inside Temporal's sandbox. Everything here is deterministic and free of Node built-ins: slot
// binding and typed slot proxies, input validation, search attributes, byte helpers and the
// concurrency primitives. Worker, client and driver code live in the main entry.
export { activityOptions, bindSlots, useSlot, useSlotActivities } from './workflows/slots';
export { describeIssues, INVALID_INPUT, parseInput } from './workflows/input';
export { PRISM_PATTERN, PRISM_PROGRESS, PRISM_STATUS } from './workflows/search-attributes';
export { decodeBase64, encodeBase64, utf8 } from './common/base64';
export {
  slot,
  isListSlot,
  LIST_SLOT_LIMIT,
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
export type {
  Bytes,
  Capability,
  CapabilityOperations,
  Headers,
  Ops,
  PubSubMessage,
  QueueMessage,
  RowChange,
  ScanPage,
  StreamRecord,
  Versioned,
} from './drivers/capabilities';
export * from './workflows/primitives';
