import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface FastReceiver {
  /** The receiver's process id (its CPU time is read from /proc). */
  pid: number | undefined;
  port: number;
  url: string;
  stats(): Promise<{ total: number; unique: number; firstArrivalMs: number; lastArrivalMs: number }>;
  latencies(): Promise<number[]>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Forks bench/fast-receiver.ts and talks to it over IPC. */
export async function startFastReceiver(): Promise<FastReceiver> {
  const child: ChildProcess = fork(join(here, 'fast-receiver.ts'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = <T>(type: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const onMessage = (msg: { type: string }) => {
        if (msg.type !== type) return;
        child.off('message', onMessage);
        resolve(msg as T);
      };
      child.on('message', onMessage);
      child.send({ type }, (error) => error && reject(error));
    });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (msg: { type: string; port: number }) => resolve(msg.port));
    child.once('exit', () => reject(new Error('fast receiver exited')));
  });
  return {
    pid: child.pid,
    port,
    url: `http://127.0.0.1:${port}/hook`,
    stats: () => ask('stats'),
    latencies: async () => (await ask<{ latencies: number[] }>('latencies')).latencies,
    reset: async () => {
      await ask('reset');
    },
    close: async () => {
      child.send({ type: 'close' });
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) resolve();
        else child.once('exit', () => resolve());
        setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, 3_000).unref();
      });
    },
  };
}

export function progressBody(): Record<string, unknown> {
  return {
    MessageType: 'ImageGenerationProgress',
    RequestRenderState: 'InProgress',
    ApplicationId: randomUUID(),
    UserId: randomUUID(),
    ImageRenderProcessId: randomUUID(),
    TotalTaskCount: 10,
    CompletedTaskCount: 8,
    Progress: 80,
    Tasks: { [randomUUID()]: 'Succeeded', [randomUUID()]: 'Succeeded' },
    RenderKind: 1,
    RenderType: 2,
    IsSuccessful: true,
    ErrorMessage: '',
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
