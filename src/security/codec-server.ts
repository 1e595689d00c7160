// Temporal's codec-server protocol, so the Web UI (or `temporal … --codec-endpoint`) can show
// decrypted payloads to whoever may see them:
//   POST /encode and POST /decode, body {"payloads":[{"metadata":{"<k>":"<base64>"},"data":"<base64>"}]}
//   answer: the same shape with the payloads encoded or decoded.
// Browsers call it from the UI's origin, so CORS is answered for the configured origins only; an
// optional bearer token keeps everyone else to ciphertext.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Logger } from '../observability/logger';

export interface CodecServerOptions {
  codec: PayloadCodec;
  host?: string;
  port?: number;
  corsOrigins: readonly string[];
  token?: string;
  maxBodyBytes?: number;
  logger?: Logger;
}

/** A payload in proto-JSON form: bytes as base64 strings. */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

function bytes(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || !BASE64.test(value)) throw new HttpError(400, `${field}: expected a base64 string`);
  return Buffer.from(value, 'base64');
}

export function payloadFromJson(json: unknown, index: number): Payload {
  const field = `payloads[${index}]`;
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new HttpError(400, `${field}: expected an object`);
  const { metadata, data } = json as { metadata?: unknown; data?: unknown };
  const out: Payload = { metadata: {} };
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
      throw new HttpError(400, `${field}.metadata: expected an object`);
    for (const [k, v] of Object.entries(metadata)) out.metadata![k] = bytes(v, `${field}.metadata.${k}`);
  }
  if (data !== undefined) out.data = bytes(data, `${field}.data`);
  return out;
}

export function payloadToJson(payload: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload.metadata ?? {})) if (v) metadata[k] = Buffer.from(v).toString('base64');
  return payload.data ? { metadata, data: Buffer.from(payload.data).toString('base64') } : { metadata };
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1].trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `request body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class CodecServer {
  private server?: Server;
  port = 0;

  constructor(private readonly options: CodecServerOptions) {}

  private cors(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    if (origin && this.options.corsOrigins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    res.setHeader('Vary', 'Origin');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.cors(req, res);
    const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '');
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    if (path === '/health' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('OK');
      return;
    }
    if (path !== '/encode' && path !== '/decode') throw new HttpError(404, 'not found: use POST /encode or /decode');
    if (req.method !== 'POST') throw new HttpError(405, `${req.method} not allowed: use POST`);
    if (this.options.token !== undefined && !tokenMatches(req.headers.authorization, this.options.token))
      throw new HttpError(401, 'missing or wrong bearer token');
    const text = await readBody(req, this.options.maxBodyBytes ?? 8 * 1024 * 1024);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'body: not valid JSON');
    }
    const list = (body as { payloads?: unknown } | null)?.payloads;
    if (!Array.isArray(list)) throw new HttpError(400, 'payloads: expected an array');
    const payloads = list.map(payloadFromJson);
    let result: Payload[];
    try {
      result =
        path === '/encode' ? await this.options.codec.encode(payloads) : await this.options.codec.decode(payloads);
    } catch (err) {
      throw new HttpError(400, `${path.slice(1)} failed: ${(err as Error).message}`);
    }
    res
      .writeHead(200, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ payloads: result.map(payloadToJson) }));
  }

  async start(): Promise<number> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        const message = err instanceof HttpError ? err.message : 'internal error';
        if (status === 500) this.options.logger?.error('codec server failed', { error: (err as Error).message });
        else this.options.logger?.debug('codec request refused', { status, error: message });
        if (!res.headersSent) res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: message }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port ?? 8888, this.options.host ?? '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
