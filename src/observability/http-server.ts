// /health, /ready and /metrics for the worker. /metrics is our prom-client registries followed by
// Temporal's own worker metrics, scraped from the runtime's Prometheus endpoint.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthReport {
  status: 'OK' | 'DEGRADED';
  openBreakers: string[];
}

export interface HttpServerOptions {
  host: string;
  port: number;
  /** Served in order: the worker's own, then prom-client's default one (where pattern activities register theirs). */
  registries: Registry[];
  /** Temporal runtime's Prometheus endpoint, appended to /metrics when set. */
  temporalMetricsUrl?: string;
  health: () => HealthReport;
  ready: () => boolean;
}

export class WorkerHttpServer {
  private server?: Server;

  constructor(private readonly options: HttpServerOptions) {}

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      void this.handle(req.url ?? '/').then(
        ({ status, type, body }) => {
          res.writeHead(status, { 'content-type': type });
          res.end(body);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String((err as Error).message));
        },
      );
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
  }

  private async handle(url: string): Promise<{ status: number; type: string; body: string }> {
    const path = url.split('?')[0];
    const json = 'application/json';
    if (path === '/health') {
      const report = this.options.health();
      return { status: report.status === 'OK' ? 200 : 503, type: json, body: JSON.stringify(report) };
    }
    if (path === '/ready') {
      const ready = this.options.ready();
      return { status: ready ? 200 : 503, type: json, body: JSON.stringify({ ready }) };
    }
    if (path === '/metrics') {
      const parts = await Promise.all(this.options.registries.map((r) => r.metrics()));
      let body = parts.filter((p) => p.trim() !== '').join('\n');
      if (this.options.temporalMetricsUrl) {
        try {
          const res = await fetch(this.options.temporalMetricsUrl, { signal: AbortSignal.timeout(2000) });
          if (res.ok) body += '\n' + (await res.text());
        } catch {
          // Temporal's endpoint is optional; our own series are still served.
        }
      }
      return { status: 200, type: this.options.registries[0].contentType, body };
    }
    return { status: 404, type: 'text/plain', body: 'not found: try /health, /ready or /metrics\n' };
  }
}
