// A port that cannot be opened is reported with the port, the address and the setting that chose it.
import { createServer } from 'node:net';

export function portError(err: NodeJS.ErrnoException, host: string, port: number, setting: string): Error {
  const why = err.code === 'EADDRINUSE' ? 'is already in use' : `cannot be opened (${err.code ?? err.message})`;
  return new Error(`port ${port} on ${host} (${setting}) ${why}; stop what holds it or choose another port`);
}

/**
 * Resolves once the port is known free; rejects naming it otherwise. For servers whose own start
 * does not report the port (the worker's start-up fails on teardown instead).
 */
export function checkPortFree(host: string, port: number, setting: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(portError(err, host, port, setting)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
