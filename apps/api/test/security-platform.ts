import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadEnv } from '../src/env.ts';
import { createLogger } from '../src/logger.ts';
import { type Platform, startPlatform } from '../src/platform.ts';
import type { Json } from './harness.ts';

/** A caller of the running platform: its key, secret, token and the documents' three headers. */
export interface LiveCaller {
  applicationId: string;
  keyId: string;
  key: string;
  secret: string;
  token: string;
  headers: Record<string, string>;
}

export interface LiveResponse {
  status: number;
  headers: Headers;
  text: string;
  body: Json;
}

/** The real platform (startPlatform) on an ephemeral loopback port, with its logs kept in memory. */
export interface LivePlatform extends AsyncDisposable {
  platform: Platform;
  url: string;
  port: number;
  logLines: string[];
  operator: LiveCaller;
  a: LiveCaller;
  b: LiveCaller;
  /** Every response body seen through `call`, for secret scans. */
  seen: string[];
  call(path: string, init?: RequestInit): Promise<LiveResponse>;
  /** A new application with one key and a token. */
  newApplication(name: string, extra?: Record<string, unknown>): Promise<LiveCaller>;
  /** A new key + token for an existing application (operator call). */
  newKey(applicationId: string): Promise<LiveCaller>;
  close(): Promise<void>;
}

/** A logger whose JSON lines are kept in `lines`, for tests that read what the platform logged. */
export function createCapturingLogger(level: string): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    level,
    destination: new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  });
  return { logger, lines };
}

export async function startLivePlatform(env: Record<string, string> = {}): Promise<LivePlatform> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-security-'));
  const { logger, lines: logLines } = createCapturingLogger('trace');
  const platform = await startPlatform(
    loadEnv({
      HERALD_DATA_DIR: join(dir, 'data'),
      HERALD_PORT: '0',
      HERALD_EMBEDDED_WORKER: 'false',
      HERALD_RATE_LIMIT_PER_SECOND: '100000',
      ...env,
    }),
    { logger },
  );
  const url = platform.url;
  const port = Number(new URL(url).port);
  const seen: string[] = [];
  const call = async (path: string, init: RequestInit = {}): Promise<LiveResponse> => {
    const res = await fetch(`${url}${path}`, init);
    const text = await res.text();
    seen.push(text);
    let body: Json = null;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.status, headers: res.headers, text, body };
  };
  const mint = async (key: string, secret: string): Promise<string> => {
    const r = await call('/api/v1/herald/tokens', {
      method: 'POST',
      headers: { 'x-api-key': key, 'x-api-secret': secret },
    });
    if (r.status !== 200) throw new Error(`token mint failed: ${r.status} ${r.text}`);
    return r.body.token as string;
  };
  const creds = JSON.parse(readFileSync(platform.credentialsFile ?? '', 'utf8'));
  const opToken = await mint(creds.operator.apiKey, creds.operator.apiSecret);
  const operator: LiveCaller = {
    applicationId: '',
    keyId: '',
    key: creds.operator.apiKey,
    secret: creds.operator.apiSecret,
    token: opToken,
    headers: {
      authorization: `Bearer ${opToken}`,
      'x-api-key': creds.operator.apiKey,
      'x-api-secret': creds.operator.apiSecret,
    },
  };
  const newKey = async (applicationId: string): Promise<LiveCaller> => {
    const k = await call(`/api/v1/herald/applications/${applicationId}/keys`, {
      method: 'POST',
      headers: { ...operator.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'security' }),
    });
    if (k.status !== 201) throw new Error(`key failed: ${k.status} ${k.text}`);
    const key = k.body.key as string;
    const secret = k.body.secret as string;
    const token = await mint(key, secret);
    return {
      applicationId,
      keyId: k.body.id as string,
      key,
      secret,
      token,
      headers: { authorization: `Bearer ${token}`, 'x-api-key': key, 'x-api-secret': secret },
    };
  };
  const newApplication = async (name: string, extra: Record<string, unknown> = {}): Promise<LiveCaller> => {
    const created = await call('/api/v1/herald/applications', {
      method: 'POST',
      headers: { ...operator.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name, ...extra }),
    });
    if (created.status !== 201) throw new Error(`application failed: ${created.status} ${created.text}`);
    return newKey(created.body.id as string);
  };
  const a = await newApplication('A');
  const b = await newApplication('B');
  const close = async () => {
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    platform,
    url,
    port,
    logLines,
    operator,
    a,
    b,
    seen,
    call,
    newApplication,
    newKey,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Sends raw bytes over a socket and returns everything the server answered until it closes or `waitMs` passes. */
export function rawRequest(
  port: number,
  data: string | Buffer | Array<string | Buffer>,
  waitMs = 3000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    }, waitMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return;
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.on('connect', () => {
      for (const part of Array.isArray(data) ? data : [data]) socket.write(part);
    });
  });
}

/** The status code of a raw HTTP answer ("HTTP/1.1 413 ..." → 413), or 0 when none came. */
export function rawStatus(answer: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
  return m === null ? 0 : Number(m[1]);
}

/** The body of a raw HTTP answer (after the blank line; chunked framing left in). */
export function rawBody(answer: string): string {
  const i = answer.indexOf('\r\n\r\n');
  return i === -1 ? '' : answer.slice(i + 4);
}
