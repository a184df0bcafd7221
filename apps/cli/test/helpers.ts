import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFreePort } from '@herald/testing';

const here = dirname(fileURLToPath(import.meta.url));
export const CLI_MAIN = join(here, '..', 'src', 'main.ts');
export const API_MAIN = join(here, '..', '..', 'api', 'src', 'main.ts');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `herald <args>` as a real process; bounded by `timeoutMs`. */
export function runHerald(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: env['HOME'] ?? '/nonexistent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ApiChild {
  url: string;
  credentialsFile: string;
  credentials(): {
    apiUrl: string;
    operator: { apiKey: string; apiSecret: string };
    demo: { applicationId: string; apiKey: string; apiSecret: string };
  };
  output(): string;
  stop(): Promise<void>;
}

/** Spawns the real API (embedded worker on SQLite) on a free port. */
export async function startApi(dataDir: string, env: Record<string, string> = {}): Promise<ApiChild> {
  const port = await getFreePort();
  const child = spawn(process.execPath, [API_MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      HERALD_DATA_DIR: dataDir,
      HERALD_PORT: String(port),
      HERALD_HOST: '127.0.0.1',
      HERALD_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const credentialsFile = join(dataDir, 'credentials.json');
  const deadline = Date.now() + 30_000;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`the API exited:\n${out}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.status === 200 && existsSync(credentialsFile)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the API did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    credentialsFile,
    credentials: () => JSON.parse(readFileSync(credentialsFile, 'utf8')),
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 2_000 && Date.now() < deadline; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
