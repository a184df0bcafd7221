import { existsSync, readFileSync } from 'node:fs';
import { getFreePort } from '@herald/testing';
import { type AppProcess, spawnApp, waitFor, waitForHttpOk } from './app-process.ts';

export interface Credentials {
  apiUrl: string;
  operator: { apiKey: string; apiSecret: string };
  demo: { applicationId: string; apiKey: string; apiSecret: string };
}

export interface ApiProcess {
  proc: AppProcess;
  url: string;
  credentialsFile: string;
  credentials(): Credentials;
  /** Calls the API as the demo application (JSON in, JSON out). */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: unknown }>;
  stop(): Promise<void>;
}

/** Spawns `node apps/api/src/main.ts` on a free port with its data in `dataDir`. */
export async function startApiProcess(dataDir: string, env: Record<string, string> = {}): Promise<ApiProcess> {
  const port = await getFreePort();
  const proc = spawnApp('api', 'apps/api/src/main.ts', {
    HERALD_DATA_DIR: dataDir,
    HERALD_HOST: '127.0.0.1',
    HERALD_PORT: String(port),
    HERALD_LOG_LEVEL: 'warn',
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${url}/healthz`, proc);
  const credentialsFile = `${dataDir}/credentials.json`;
  // The first start writes the credentials just after it starts listening.
  await waitFor('credentials.json', () => (existsSync(credentialsFile) ? true : undefined), { timeoutMs: 15_000 });
  const credentials = () => JSON.parse(readFileSync(credentialsFile, 'utf8')) as Credentials;
  let token: string | undefined;
  const keyHeaders = () => {
    const c = credentials();
    return { 'x-api-key': c.demo.apiKey, 'x-api-secret': c.demo.apiSecret };
  };
  // The documented API wants a bearer token and the key pair on every call.
  const bearer = async () => {
    if (token !== undefined) return token;
    const r = await fetch(`${url}/api/v1/herald/tokens`, {
      method: 'POST',
      headers: keyHeaders(),
      signal: AbortSignal.timeout(15_000),
    });
    const json = (await r.json()) as { token?: string };
    if (r.status !== 200 || typeof json.token !== 'string') throw new Error(`minting a token failed: ${r.status}`);
    token = json.token;
    return token;
  };
  return {
    proc,
    url,
    credentialsFile,
    credentials,
    async call(method, path, body, headers = {}) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...keyHeaders(),
          authorization: `Bearer ${await bearer()}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await response.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: response.status, json };
    },
    stop: async () => {
      await proc.stop('SIGTERM', 15_000);
    },
  };
}
