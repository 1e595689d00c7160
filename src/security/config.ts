// The config sections this folder owns: `codec` (payload encryption and its codec server) and
// `temporal.tls`. Imported by src/config/schema.ts.
import { z } from 'zod';
import { secretStringSchema } from './secrets';

export const keyIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected a key id of 1 to 64 letters, digits, ".", "_" or "-"');

/** One AES-256 key: 32 bytes, as raw bytes, hex or base64, in a file or an environment variable. */
export const codecKeySchema = z.union([
  z.strictObject({ id: keyIdSchema, file: z.string().min(1) }),
  z.strictObject({ id: keyIdSchema, env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a variable name') }),
]);

export const DEFAULT_CORS_ORIGINS = ['http://127.0.0.1:8233', 'http://localhost:8233'];

export const codecServerSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8888),
  /** Browser origins allowed to call the endpoint (the Temporal UI's). */
  cors_origins: z.array(z.string().url()).default(DEFAULT_CORS_ORIGINS),
  /** When set, requests need `Authorization: Bearer <token>`. */
  token: secretStringSchema.optional(),
  /** Largest request body accepted. */
  max_body_bytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(8 * 1024 * 1024),
});

export const codecSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    keys: z.array(codecKeySchema).max(100).default([]),
    /** New payloads are encrypted with this key; the others only decrypt older payloads. */
    active_key_id: keyIdSchema.optional(),
    server: codecServerSchema.prefault({}),
  })
  .superRefine((codec, ctx) => {
    const ids = codec.keys.map((k) => k.id);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i)
        ctx.addIssue({ code: 'custom', path: ['keys', i, 'id'], message: `duplicate key id "${id}"` });
    });
    if (!codec.enabled) return;
    if (codec.keys.length === 0)
      ctx.addIssue({ code: 'custom', path: ['keys'], message: 'encryption needs at least one key' });
    if (codec.active_key_id === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['active_key_id'],
        message: 'encryption needs the id of the key to encrypt with',
      });
    else if (!ids.includes(codec.active_key_id))
      ctx.addIssue({
        code: 'custom',
        path: ['active_key_id'],
        message: `no key with id "${codec.active_key_id}" under codec.keys`,
      });
  });

export const temporalTlsSchema = z
  .strictObject({
    /** PEM file of the CA that signed the server's certificate (default: the system's CAs). */
    ca_file: z.string().min(1).optional(),
    /** PEM files of the client certificate and its key, for mTLS (both or neither). */
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
    /** The name the server certificate must carry, when it differs from the address's host. */
    server_name: z.string().min(1).optional(),
  })
  .refine((tls) => (tls.cert_file === undefined) === (tls.key_file === undefined), {
    message: 'cert_file and key_file go together (mTLS needs both)',
    path: ['cert_file'],
  });

export type CodecConfig = z.output<typeof codecSchema>;
export type CodecServerConfig = z.output<typeof codecServerSchema>;
export type TemporalTlsConfig = z.output<typeof temporalTlsSchema>;
