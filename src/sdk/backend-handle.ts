// What a backend handle is, as patterns and activities see it: the driver's capability operations,
// each call through the backend's guard. The pool that makes them lives in src/runtime; the type
// lives here so the SDK and activities can name it without importing the runtime.
import type { Capability } from '../drivers/capabilities';
import type { Driver, DriverHealth } from '../drivers/driver';
import type { BackendGuard } from '../resilience/backend-guard';

export interface BackendHandleBase {
  /** The backend's name in the config: the `backend` label of its metrics. */
  readonly backend: string;
  readonly driverName: string;
  readonly capabilities: ReadonlySet<Capability>;
  /** The guard every operation of this handle runs through (shared by every handle of the backend). */
  readonly guard: BackendGuard;
  /**
   * The driver without its guard: only for calls that already run under `guard` (the worker's
   * activity interceptor). Anything else calls the handle's own operations.
   */
  readonly unguarded: Driver;
  health(): Promise<DriverHealth>;
  /** Releases this handle; the driver closes once every handle of the backend is released. */
  close(): Promise<void>;
}

/** A driver-shaped handle: usable wherever a driver's capability operations are expected. */
export type BackendHandle = BackendHandleBase & Omit<Driver, keyof BackendHandleBase>;
