// Group commit for per-key signals. At most one send per key is in flight; the calls that arrive
// meanwhile share ONE follow-up send, made when the in-flight one completes, carrying the largest
// timestamp among them. Each call resolves only once a send covering its timestamp has completed,
// and every call waiting on a send that fails gets that send's error. Pure: the send is given.

interface Batch {
  ts: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A key with a send in flight; `next` gathers the calls that arrived meanwhile. */
interface KeyState {
  next?: Batch;
}

export class GroupSignal {
  private readonly keys = new Map<string, KeyState>();

  constructor(private readonly send: (key: string, ts: number) => Promise<void>) {}

  /** Resolves once a send for `key` with a timestamp of at least `ts` has completed. */
  submit(key: string, ts: number): Promise<void> {
    const state = this.keys.get(key);
    if (!state) return this.start(key, ts);
    if (state.next) {
      state.next.ts = Math.max(state.next.ts, ts);
      return state.next.promise;
    }
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    state.next = { ts, promise, resolve, reject };
    return promise;
  }

  /** How many keys have a send in flight. */
  get inFlight(): number {
    return this.keys.size;
  }

  private start(key: string, ts: number): Promise<void> {
    const state: KeyState = {};
    this.keys.set(key, state);
    const sent = this.call(key, ts);
    const settle = (): void => {
      const batch = state.next;
      if (!batch) {
        this.keys.delete(key);
        return;
      }
      state.next = undefined;
      // The follow-up is the new in-flight send; calls arriving now wait for the one after it.
      const follow = this.call(key, batch.ts);
      follow.then(batch.resolve, batch.reject);
      follow.then(settle, settle);
    };
    sent.then(settle, settle);
    return sent;
  }

  /** The send, with a synchronous throw turned into a rejection (so the key is released). */
  private call(key: string, ts: number): Promise<void> {
    try {
      return this.send(key, ts);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
