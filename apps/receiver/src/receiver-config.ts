import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ReceiverError } from './receiver-error.ts';

const nonEmpty = z.string().min(1);

/** The receiver's configuration file (JSON). Relative paths are read from the file's directory. */
export const ReceiverConfig = z.strictObject({
  listen: z
    .strictObject({
      host: nonEmpty.default('127.0.0.1'),
      port: z.int().min(0).max(65_535).default(8443),
    })
    .default({ host: '127.0.0.1', port: 8443 }),
  path: z.string().startsWith('/').default('/'),
  tls: z.strictObject({ certFile: nonEmpty, keyFile: nonEmpty }).optional(),
  /** Plain HTTP, for a receiver behind a local TLS terminator or for development only. */
  allowPlainHttp: z.boolean().default(false),
  auth: z
    .strictObject({
      sharedSecret: z.strictObject({ headerName: nonEmpty, secrets: z.array(nonEmpty).min(1) }).optional(),
      signature: z
        .strictObject({ secrets: z.array(nonEmpty).min(1), toleranceSeconds: z.int().min(1).max(86_400).optional() })
        .optional(),
      ipAllowlist: z
        .strictObject({ allow: z.array(nonEmpty).min(1), trustedProxies: z.array(nonEmpty).optional() })
        .optional(),
      mtls: z
        .strictObject({
          caFile: nonEmpty,
          allowedSubjects: z.array(nonEmpty).min(1).optional(),
          allowedFingerprints256: z.array(nonEmpty).min(1).optional(),
        })
        .optional(),
    })
    .default({}),
  maxBodyBytes: z
    .int()
    .min(1)
    .max(64 * 1024 * 1024)
    .default(5 * 1024 * 1024),
  sink: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('file'), path: nonEmpty }),
    z.strictObject({ type: z.literal('stdout') }),
    z.strictObject({ type: z.literal('forward'), url: z.url(), timeoutMs: z.int().min(1).max(300_000).optional() }),
    z.strictObject({
      type: z.literal('command'),
      argv: z.array(nonEmpty).min(1),
      timeoutMs: z.int().min(1).max(3_600_000).optional(),
    }),
  ]),
  /** SQLite file of accepted ids, or `:memory:` (duplicates then pass again after a restart). */
  dedupePath: nonEmpty.default('receiver-dedupe.sqlite'),
  /** AMQP mode: consume this queue instead of (or as well as) serving HTTPS. */
  amqp: z
    .strictObject({
      url: z.string().regex(/^amqps?:\/\//, 'expected an amqp:// or amqps:// URL'),
      username: nonEmpty,
      password: z.string(),
      queue: nonEmpty,
      prefetch: z.int().min(1).max(10_000).optional(),
      /** Serve HTTPS too. Default false in AMQP mode. */
      serveHttp: z.boolean().default(false),
    })
    .optional(),
});
export type ReceiverConfig = z.infer<typeof ReceiverConfig>;

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
}

/** Validates a parsed config object; relative paths are resolved against `baseDir`. Throws `ReceiverError`. */
export function parseReceiverConfig(input: unknown, baseDir: string): ReceiverConfig {
  const result = ReceiverConfig.safeParse(input);
  if (!result.success) {
    throw new ReceiverError('invalid_config', `invalid receiver configuration:\n${formatIssues(result.error)}`);
  }
  const c = result.data;
  const abs = (p: string) => (p === ':memory:' ? p : resolve(baseDir, p));
  if (c.tls === undefined && !c.allowPlainHttp && (c.amqp === undefined || c.amqp.serveHttp)) {
    throw new ReceiverError(
      'invalid_config',
      'invalid receiver configuration:\n  tls: required (certFile, keyFile) unless allowPlainHttp is true',
    );
  }
  if (c.auth.mtls !== undefined && c.tls === undefined) {
    throw new ReceiverError(
      'invalid_config',
      'invalid receiver configuration:\n  auth.mtls: needs tls (mutual TLS runs over HTTPS)',
    );
  }
  return {
    ...c,
    ...(c.tls === undefined ? {} : { tls: { certFile: abs(c.tls.certFile), keyFile: abs(c.tls.keyFile) } }),
    auth: {
      ...c.auth,
      ...(c.auth.mtls === undefined ? {} : { mtls: { ...c.auth.mtls, caFile: abs(c.auth.mtls.caFile) } }),
    },
    sink: c.sink.type === 'file' ? { ...c.sink, path: abs(c.sink.path) } : c.sink,
    dedupePath: abs(c.dedupePath),
  };
}

/** Validates config JSON text (e.g. from the environment). Throws `ReceiverError` with a readable message. */
export function parseReceiverConfigJson(text: string, baseDir: string): ReceiverConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ReceiverError('invalid_config', 'the receiver config is not valid JSON', { cause });
  }
  return parseReceiverConfig(json, baseDir);
}

/** Reads and validates a JSON config file. Throws `ReceiverError` with a readable message. */
export function loadReceiverConfigFile(path: string): ReceiverConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ReceiverError('invalid_config', `cannot read receiver config file ${path}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ReceiverError('invalid_config', `receiver config file ${path} is not valid JSON`, { cause });
  }
  return parseReceiverConfig(json, dirname(resolve(path)));
}

/** Reads a PEM file named in the config; a missing file is a config error. */
export function readPemFile(path: string, label: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ReceiverError('invalid_config', `cannot read ${label} ${path}`, { cause });
  }
}
