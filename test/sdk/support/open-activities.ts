// Reading a recorded history: how many activities of one type were scheduled and not yet closed
// at each point, which is what a fan-out's concurrency cap bounds.
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The most `type` activities open at once; `visit` sees every event with the count open after it. */
export function maxOpenActivities(
  events: readonly HistoryEvent[],
  type: string,
  visit?: (event: HistoryEvent, open: number) => void,
): number {
  const open = new Set<string>();
  let max = 0;
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === type) open.add(String(e.eventId));
    const closed =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes;
    if (closed) open.delete(String(closed.scheduledEventId));
    max = Math.max(max, open.size);
    visit?.(e, open.size);
  }
  return max;
}
