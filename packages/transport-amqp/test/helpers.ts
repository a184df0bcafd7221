import type { Server, Socket } from 'node:net';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDestinationPolicy } from '@herald/ssrf';
import type { TestVhost } from '@herald/testing';
import { listenEphemeral, rabbitManagement } from '@herald/testing';
import type { Channel, ChannelModel, GetMessage } from 'amqplib';
import amqp from 'amqplib';
import type { AmqpDestination } from '../src/index.ts';

/** Local brokers are allowed explicitly, as an operator would. */
export const localPolicy = createDestinationPolicy({ allowCidrs: ['127.0.0.0/8', '::1/128'] });

export function destinationFor(vhost: TestVhost, extra: Partial<AmqpDestination> = {}): AmqpDestination {
  return {
    url: `amqp://127.0.0.1:${vhost.port}/${encodeURIComponent(vhost.name)}`,
    username: vhost.username,
    password: vhost.password,
    ...extra,
  };
}

/** A plain amqplib connection to the vhost, for arranging and inspecting the broker side. */
export async function openAdmin(vhost: TestVhost): Promise<{ conn: ChannelModel; ch: Channel } & AsyncDisposable> {
  const conn = await amqp.connect(vhost.url);
  conn.on('error', () => {});
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  return {
    conn,
    ch,
    async [Symbol.asyncDispose]() {
      await conn.close().catch(() => {});
    },
  };
}

/** Reads every message currently in `queue` (bounded). */
export async function drainQueue(ch: Channel, queue: string, max = 10_000): Promise<GetMessage[]> {
  const out: GetMessage[] = [];
  for (let i = 0; i < max; i++) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) break;
    out.push(m);
  }
  return out;
}

/** Polls `check` every 50 ms until it returns true or `timeoutMs` passes; returns the last answer. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000; i++) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return false;
}

interface ManagedConnection {
  name: string;
  vhost: string;
  user: string;
}

/** Broker connections of one vhost, as the management API lists them. */
export async function listConnections(vhost: string): Promise<ManagedConnection[]> {
  const list = (await rabbitManagement(
    'GET',
    `/vhosts/${encodeURIComponent(vhost)}/connections`,
  )) as ManagedConnection[];
  return list;
}

/**
 * Force-closes every connection of the vhost from the broker side (as an operator or a failover
 * would). The management API lists a new connection only after its next stats emission, so wait for it.
 * Returns how many it closed.
 */
export async function killConnections(vhost: string): Promise<number> {
  let list: ManagedConnection[] = [];
  await waitFor(async () => {
    list = await listConnections(vhost);
    return list.length > 0;
  }, 15_000);
  let killed = 0;
  for (const c of list) {
    try {
      await rabbitManagement('DELETE', `/connections/${encodeURIComponent(c.name)}`);
      killed += 1;
    } catch (err) {
      // Listed but closed meanwhile (the listing lags behind the broker): nothing left to kill.
      if (!(err instanceof Error && / answered 404:/.test(err.message))) throw err;
    }
  }
  return killed;
}

/** A TCP server on 127.0.0.1 with a per-socket behaviour; counts connections. */
export async function startTcpServer(
  onSocket: (socket: Socket) => void,
): Promise<{ port: number; server: Server; connections: () => number; sockets: Set<Socket> } & AsyncDisposable> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    count += 1;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  const port = await listenEphemeral(server);
  return {
    port,
    server,
    sockets,
    connections: () => count,
    async [Symbol.asyncDispose]() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
