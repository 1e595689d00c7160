// Deterministic concurrency for workflow code: bounded fan-out and a staged pipeline with
// backpressure. Pure (promises only), so safe in the workflow sandbox and testable outside it.
export { toBatches, type Batch } from './batches';
export { BoundedChannel, ChannelClosedError } from './channel';
export {
  fanOut,
  FanOutPool,
  MAX_FAN_OUT_CONCURRENCY,
  type BatchContext,
  type BatchFailure,
  type BatchRunner,
  type FanOutOptions,
  type FanOutResult,
  type FanOutSummary,
  type PoolRunner,
} from './fan-out';
export {
  Pipeline,
  type PipelineStats,
  type Source,
  type StageFn,
  type StageOptions,
  type StageStats,
} from './pipeline';
