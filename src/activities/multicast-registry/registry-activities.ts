// The registry slot's activities (`multicast-registry.registry.<name>`): registry operations for
// short operation workflows, and the heartbeating page-by-page enumeration multicast uses.
import { Context } from '@temporalio/activity';
import type { BackendHandle } from '../../sdk/backend-handle';
import { refusal } from '../refusal';
import type { DeliveredPage, EnumeratePage, Registration } from '../../workflows/multicast-registry/input';
import type { Metadata } from '../../workflows/multicast-registry/filter';
import { pageSlots, sendPage, type SendPageInput, type SendPageResult } from './send-page';
import {
  RegistryError,
  RegistryStore,
  type DeliveredRequest,
  type EnumerateRequest,
  type RegistryDriver,
  type TargetClaim,
} from './registry-store';

/** A page of matching identities, names only: what a multicast needs, kept small for history. */
export interface TargetPage {
  identities: string[];
  cursor: string | null;
}

export interface TargetPageRequest extends EnumerateRequest {
  /** When set, the page holds only identities this multicast had not taken on yet (see RegistryStore.claim). */
  claim?: TargetClaim;
}

/** Registry errors are the caller's problem, not the backend's: non-retryable, with a stable type. */
async function asFailure<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof RegistryError) throw refusal(err.message, err.type);
    throw err;
  }
}

function heartbeat(cursor: string | null): void {
  // Outside an activity (unit tests calling the factory directly) there is no context.
  try {
    Context.current().heartbeat({ cursor });
  } catch {
    /* not in an activity */
  }
}

/**
 * `slots`: the pattern's slots on this worker as guarded handles (sendPage publishes and enqueues
 * through them); without them sendPage refuses, naming the slot.
 */
/** The workflows' view of these activities: their proxies are typed from this factory. */
export type RegistryActivities = ReturnType<typeof registryActivities>;

export function registryActivities(
  driver: RegistryDriver,
  slots: Readonly<Record<string, BackendHandle | readonly BackendHandle[]>> = {},
) {
  const store = new RegistryStore(driver);
  const peers = pageSlots(slots);
  return {
    register: (input: {
      registry: string;
      identity: string;
      metadata: Metadata;
      ttlSeconds?: number;
      replace: boolean;
    }): Promise<Registration> => asFailure(() => store.register(input)),
    heartbeat: (input: { registry: string; identity: string; ttlSeconds?: number }): Promise<Registration> =>
      asFailure(() => store.heartbeat(input)),
    unregister: (input: { registry: string; identity: string }): Promise<{ removed: boolean }> =>
      asFailure(() => store.unregister(input)),
    enumerate: (input: EnumerateRequest): Promise<EnumeratePage> =>
      asFailure(() => store.enumerate(input, { onProgress: heartbeat })),
    enumerateTargets: (input: TargetPageRequest): Promise<TargetPage> =>
      asFailure(async () => {
        const { claim, ...request } = input;
        const page = await store.enumerate(request, { onProgress: heartbeat });
        const identities = page.identities.map((r) => r.identity);
        return {
          identities: claim ? await store.claim(input.registry, claim, identities) : identities,
          cursor: page.cursor,
        };
      }),
    /** A page of a paged multicast's delivered targets (its report rows). */
    delivered: (input: DeliveredRequest): Promise<DeliveredPage> => asFailure(() => store.delivered(input)),
    /** A whole multicast page: scan, filter, claim, send, record; counts and failures back. */
    sendPage: (input: SendPageInput): Promise<SendPageResult> => asFailure(() => sendPage(store, peers, input)),
    /** Report rows for targets delivered after a retry (the page's own row lists the others). */
    recordDelivered: (input: {
      registry: string;
      reportId: string;
      row: string;
      identities: string[];
      attempts: number[];
    }): Promise<void> =>
      asFailure(() =>
        store.recordDelivered(input.registry, input.reportId, input.row, input.identities, input.attempts),
      ),
  };
}
