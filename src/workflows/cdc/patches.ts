// The CDC workflow's patch ids. Each marks where a history recorded before a change replays the
// old branch; the ids are in stored histories, so they never change.

/** Runs that stream (pump rounds) instead of reading a batch per activity. */
export const STREAM_PATCH = 'cdc-stream';
/** Runs whose pause update answers once the pause has taken effect, not as it is taken in. */
export const PAUSE_TAKEN_PATCH = 'cdc-pause-taken';
/** Runs that deliver through the sink's driver; earlier ones ran whole rounds in captureAndDeliver. */
export const SINK_BATCH_PATCH = 'cdc-sink-batch';
/** Outbox runs that overlap poll, deliver and markPublished; earlier ones took one batch at a time. */
export const OUTBOX_PIPELINE_PATCH = 'cdc-outbox-pipeline';
