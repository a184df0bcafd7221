import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Store } from '@herald/store';

export const WORKER_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.ts');

export function progressMessage(): Record<string, unknown> {
  return {
    MessageType: 'ImageGenerationProgress',
    RequestRenderState: 'InProgress',
    ApplicationId: randomUUID(),
    UserId: randomUUID(),
    ImageRenderProcessId: randomUUID(),
    TotalTaskCount: 2,
    CompletedTaskCount: 1,
    Progress: 50,
    Tasks: { [randomUUID()]: 'Succeeded' },
    RenderKind: 1,
    RenderType: 2,
    IsSuccessful: true,
    ErrorMessage: '',
  };
}

/** A local HTTPS endpoint recording webhook ids; `handler` decides the answer. */
export async function startHttpsReceiver(
  pem: { cert: string; key: string },
  handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(200).end('ok'),
): Promise<{ server: Server; port: number; ids: string[]; close(): Promise<void> }> {
  const ids: string[] = [];
  const server = createServer({ cert: pem.cert, key: pem.key, minVersion: 'TLSv1.2' }, (req, res) => {
    req.resume();
    req.on('end', () => {
      const id = req.headers['webhook-id'];
      if (typeof id === 'string') ids.push(id);
      handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    server,
    port,
    ids,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface WorkerChild {
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

export function spawnWorker(env: Record<string, string>): WorkerChild {
  const child = spawn(process.execPath, [WORKER_MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { output: () => out, exited, kill: (s) => child.kill(s) };
}

/** Polls until `check` returns true; bounded in time and count. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
  describe?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${describe ? `\n${describe()}` : ''}`);
}

export async function deliveryStates(
  store: Store,
  applicationId: string,
): Promise<Array<{ state: string; leaseOwner: string | null; attempts: number }>> {
  const page = await store.listDeliveries(applicationId, {}, { limit: 500 });
  return page.items.map((d) => ({ state: d.state, leaseOwner: d.leaseOwner, attempts: d.attempts }));
}
