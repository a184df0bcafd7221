import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createCertificateAuthority, generateWebhookSecret } from '@herald/auth';
import { createEngine, createRecordingTransport, type Engine, type RecordingTransport } from '@herald/engine';
import { createDestinationPolicy, type ResolveHost } from '@herald/ssrf';
import { createStore, generateKeyringSpec, parseKeyring, type Store } from '@herald/store';
import type { Hono } from 'hono';
import { createApp } from '../src/app.ts';
import type { ApiEnvBindings, AppDeps } from '../src/app-types.ts';
import { createLogger } from '../src/logger.ts';
import { createRateLimiter } from '../src/rate-limiter.ts';
import { createClientCertificateIssuer, createCredentialService, createTokenService } from '../src/services.ts';

/** Fixed answers instead of DNS: tests never depend on (or send traffic to) the outside world. */
export const fakeResolver: ResolveHost = async (hostname) => {
  const table: Record<string, string> = {
    'webhook.site': '46.4.105.116',
    'example.com': '93.184.215.14',
    'hooks.example.org': '93.184.215.15',
    'broker.example.org': '93.184.215.16',
    localhost: '127.0.0.1',
    'internal.example.org': '10.1.2.3',
  };
  const address = table[hostname];
  if (address === undefined) throw Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return [{ address, family: 4 }];
};

export interface Caller {
  applicationId: string;
  keyId: string;
  key: string;
  secret: string;
  token: string;
  /** Headers of the documents' scheme: Bearer JWT + x-api-key + x-api-secret. */
  headers: Record<string, string>;
}

export interface Harness extends AsyncDisposable {
  app: Hono<ApiEnvBindings>;
  store: Store;
  engine: Engine;
  transport: RecordingTransport;
  deps: AppDeps;
  a: Caller;
  b: Caller;
  operator: Caller;
  logLines: string[];
  dataDir: string;
  /** A fresh API key (and token) for `applicationId`. */
  newCaller(applicationId: string, credits?: number | null): Promise<Caller>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  storeUrl?: string;
  bodyLimitBytes?: number;
  overrides?: Partial<AppDeps>;
  now?: () => number;
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-api-test-'));
  const store = await createStore({
    url: options.storeUrl ?? `sqlite:${join(dataDir, 'herald.db')}`,
    keyring: parseKeyring(generateKeyringSpec()),
  });
  await store.migrate();
  const transport = createRecordingTransport();
  const engine = createEngine({ store, transports: { webhook: transport, rabbitmq: transport }, retention: null });
  const tokens = createTokenService({ secret: randomBytes(32).toString('base64url'), ttlSeconds: 3600 });
  const credentials = createCredentialService();
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  const ca = await createCertificateAuthority({ commonName: 'Herald test CA', validDays: 30 });
  const deps: AppDeps = {
    store,
    engine,
    tokens,
    credentials,
    destinationPolicy: createDestinationPolicy({ allowCidrs: ['127.0.0.0/8', '::1/128'], resolveHost: fakeResolver }),
    allowHttp: false,
    logger: createLogger({ level: 'info', destination }),
    generateSigningSecret: () => generateWebhookSecret(),
    clientCertificates: createClientCertificateIssuer(ca),
    rateLimiter: createRateLimiter({ perSecond: 10_000 }),
    ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...options.overrides,
  };
  const app = createApp(deps);

  const newCaller = async (
    applicationId: string | null,
    credits: number | null = null,
    role: 'application' | 'operator' = 'application',
  ): Promise<Caller> => {
    const fresh = credentials.generate();
    const key = await store.createApiKey({
      applicationId,
      role,
      key: fresh.key,
      secretHash: await credentials.hash(fresh.secret),
      credits,
    });
    const token = await tokens.issue({ applicationId, role });
    return {
      applicationId: applicationId ?? '',
      keyId: key.id,
      key: fresh.key,
      secret: fresh.secret,
      token,
      headers: { authorization: `Bearer ${token}`, 'x-api-key': fresh.key, 'x-api-secret': fresh.secret },
    };
  };
  const appA = await store.createApplication({ id: 'd5eabbb8-c0f6-4640-94fd-3566edad499f', name: 'A' });
  const appB = await store.createApplication({ name: 'B' });
  const [a, b, operator] = await Promise.all([
    newCaller(appA.id),
    newCaller(appB.id),
    newCaller(null, null, 'operator'),
  ]);
  const close = async () => {
    await engine.stop({ deadlineMs: 1000 }).catch(() => {});
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return {
    app,
    store,
    engine,
    transport,
    deps,
    a,
    b,
    operator,
    logLines,
    dataDir,
    newCaller: (id, credits) => newCaller(id, credits ?? null),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** multipart/form-data body of string fields. */
export function formData(fields: Record<string, string | number | boolean>): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, String(v));
  return fd;
}

export function jsonInit(method: string, headers: Record<string, string>, body: unknown): RequestInit {
  return { method, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

// biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON answers
export type Json = any;

/** The parsed JSON body of a response, typed loosely for assertions. */
export async function readJson(res: Response | Promise<Response>): Promise<Json> {
  return (await res).json();
}
