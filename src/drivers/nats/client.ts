// Typed access to @nats-io/transport-node. The package re-exports @nats-io/nats-core through the
// subpath "@nats-io/nats-core/internal", which TypeScript cannot follow under this project's
// `moduleResolution: node`: its re-exported values (headers, nanos, createInbox, …) and types look
// missing. Values are taken from transport-node at run time and typed with the declarations of
// @nats-io/nats-core's root entry (a dependency of transport-node; type-only import, erased).
import * as transport from '@nats-io/transport-node';
import type {
  ConnectionOptions,
  Msg,
  MsgHdrs,
  MsgHdrsImpl,
  Nanos,
  NatsConnection,
  headers as headersFn,
  nanos as nanosFn,
  createInbox as createInboxFn,
} from '@nats-io/nats-core';

export type { ConnectionOptions, Msg, MsgHdrs, Nanos, NatsConnection };

interface TransportNode {
  connect(options: ConnectionOptions): Promise<NatsConnection>;
  headers: typeof headersFn;
  nanos: typeof nanosFn;
  createInbox: typeof createInboxFn;
  MsgHdrsImpl: typeof MsgHdrsImpl;
}

const client = transport as unknown as TransportNode;

export const connect = (options: ConnectionOptions): Promise<NatsConnection> => client.connect(options);
export const headers: typeof headersFn = (...args) => client.headers(...args);
export const nanos: typeof nanosFn = (ms) => client.nanos(ms);
export const createInbox: typeof createInboxFn = (prefix) => client.createInbox(prefix);
/** Headers from name → values, taken as they are (no checks): for values already checked. */
export const headersFromRecord = (record: Record<string, string[]>): MsgHdrs => client.MsgHdrsImpl.fromRecord(record);
