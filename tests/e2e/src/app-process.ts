import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests/e2e/src → ../../..). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const MAX_OUTPUT_CHARS = 200_000;

export interface AppProcess {
  name: string;
  child: ChildProcess;
  /** Combined stdout + stderr so far (the last 200 000 characters). */
  output(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` and waits up to `timeoutMs` for the exit; SIGKILLs after that. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Env every child gets: PATH and HOME only, so the test machine's own settings do not leak in. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const v = process.env[key];
    if (v !== undefined) env[key] = v;
  }
  return env;
}

/** Spawns `node <script>` (a path relative to the repo root, or absolute) with `env`. */
export function spawnApp(
  name: string,
  script: string,
  env: Record<string, string>,
  options: { args?: string[]; cwd?: string } = {},
): AppProcess {
  const path = script.startsWith('/') ? script : join(REPO_ROOT, script);
  const child = spawn(process.execPath, [path, ...(options.args ?? [])], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > MAX_OUTPUT_CHARS) output = output.slice(-MAX_OUTPUT_CHARS);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    name,
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Polls `check` until it returns a value other than undefined; bounded by `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs?: number; intervalMs?: number; describe?: () => string } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let i = 0; i < Math.ceil(timeoutMs / intervalMs) + 1; i++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const extra = options.describe?.() ?? '';
  const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}${extra ? `\n${extra}` : ''}`);
}

/** Waits until GET `url` answers 200 (plain HTTP on loopback). */
export async function waitForHttpOk(url: string, app: AppProcess, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `${app.name} at ${url}`,
    async () => {
      if (app.child.exitCode !== null) throw new Error(`${app.name} exited with ${app.child.exitCode}`);
      const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await r.body?.cancel();
      return r.status === 200 ? true : undefined;
    },
    { timeoutMs, intervalMs: 100, describe: () => `${app.name} output:\n${app.output().slice(-4000)}` },
  );
}
