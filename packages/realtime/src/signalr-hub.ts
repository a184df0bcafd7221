import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';

/** Record separator that ends every message of the SignalR JSON hub protocol. */
export const RECORD_SEPARATOR = '\u001e';

/** Hub protocol message types (JSON protocol, version 1). */
export const MessageKind = {
  Invocation: 1,
  StreamItem: 2,
  Completion: 3,
  StreamInvocation: 4,
  CancelInvocation: 5,
  Ping: 6,
  Close: 7,
} as const;

export interface HubPrincipal {
  applicationId: string;
}

export interface SignalRHubOptions {
  /** Hub path; negotiate is served at `${path}/negotiate`. Default `/hubs/notifications`. */
  path?: string;
  /** Resolves a bearer token (header or `access_token` query) to the application it belongs to; null refuses. */
  authenticate(token: string | null): Promise<HubPrincipal | null>;
  /** Server pings so proxies and the client's timeout see traffic. Default 15 s (the client's default). */
  keepAliveIntervalMs?: number;
  /** A client silent for this long is dropped. Default 30 s (twice the client's ping interval). */
  clientTimeoutMs?: number;
  /** How long a negotiated connection token waits for its WebSocket. Default 30 s. */
  negotiateTtlMs?: number;
  maxConnectionsPerApplication?: number;
  /** Largest frame a client may send; the hub only expects handshakes, pings and small invocations. */
  maxClientMessageBytes?: number;
  clock?: () => number;
}

export interface SignalRHub {
  readonly path: string;
  /** Answers `POST {path}/negotiate` (fetch-style, to mount in any router). */
  handleNegotiate(request: Request): Promise<Response>;
  /** Handles an HTTP upgrade for the hub path; returns false (and leaves the socket alone) for other paths. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Routes the server's `upgrade` events for the hub path to the hub. */
  attach(server: Server): void;
  /** Invokes `target(...args)` on every connection of the application; resolves to how many took the frame. */
  sendToApplication(applicationId: string, target: string, args: unknown[]): Promise<number>;
  connectionCount(applicationId?: string): number;
  close(): Promise<void>;
}

interface PendingConnection {
  connectionId: string;
  applicationId: string;
  expiresAt: number;
}

interface HubConnection {
  id: string;
  applicationId: string;
  socket: WebSocket;
  handshakeDone: boolean;
  lastSeenAt: number;
}

export class HubConfigError extends Error {
  readonly code = 'HUB_CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'HubConfigError';
  }
}

function bearerFrom(authorization: string | null | undefined, url: URL): string | null {
  if (authorization) {
    const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (m?.[1]) return m[1];
  }
  return url.searchParams.get('access_token');
}

function frame(message: object): string {
  return JSON.stringify(message) + RECORD_SEPARATOR;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0)
    throw new HubConfigError(`${name} must be a positive number, got ${String(value)}`);
  return v;
}

export function createSignalRHub(options: SignalRHubOptions): SignalRHub {
  const path = (options.path ?? '/hubs/notifications').replace(/\/+$/, '');
  if (!path.startsWith('/')) throw new HubConfigError(`hub path must start with "/", got "${path}"`);
  const keepAliveMs = positive('keepAliveIntervalMs', options.keepAliveIntervalMs, 15_000);
  const clientTimeoutMs = positive('clientTimeoutMs', options.clientTimeoutMs, 30_000);
  const negotiateTtlMs = positive('negotiateTtlMs', options.negotiateTtlMs, 30_000);
  const maxPerApp = positive('maxConnectionsPerApplication', options.maxConnectionsPerApplication, 1000);
  const maxPayload = positive('maxClientMessageBytes', options.maxClientMessageBytes, 64 * 1024);
  const now = options.clock ?? Date.now;

  const pending = new Map<string, PendingConnection>();
  const byApplication = new Map<string, Set<HubConnection>>();
  const wss = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false });
  let closed = false;

  const sweep = setInterval(() => {
    const t = now();
    for (const [token, p] of pending) if (p.expiresAt <= t) pending.delete(token);
    for (const set of byApplication.values()) {
      for (const conn of set) {
        if (t - conn.lastSeenAt > clientTimeoutMs) {
          closeConnection(conn, 'Server timeout elapsed without receiving a message from the client.');
        } else if (conn.handshakeDone) {
          conn.socket.send(frame({ type: MessageKind.Ping }));
        }
      }
    }
  }, keepAliveMs);
  sweep.unref();

  function connectionsOf(applicationId: string): Set<HubConnection> {
    let set = byApplication.get(applicationId);
    if (!set) {
      set = new Set();
      byApplication.set(applicationId, set);
    }
    return set;
  }

  function forget(conn: HubConnection): void {
    const set = byApplication.get(conn.applicationId);
    set?.delete(conn);
    if (set && set.size === 0) byApplication.delete(conn.applicationId);
  }

  function closeConnection(conn: HubConnection, error?: string): void {
    forget(conn);
    if (conn.socket.readyState === conn.socket.OPEN) {
      conn.socket.send(
        frame(error ? { type: MessageKind.Close, error, allowReconnect: true } : { type: MessageKind.Close }),
      );
      conn.socket.close(1000);
    }
  }

  function onRecord(conn: HubConnection, record: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(record);
    } catch {
      closeConnection(conn, 'Invalid JSON in hub message.');
      return;
    }
    if (typeof msg !== 'object' || msg === null) {
      closeConnection(conn, 'Hub messages must be JSON objects.');
      return;
    }
    const m = msg as Record<string, unknown>;
    if (!conn.handshakeDone) {
      if (m.protocol !== 'json') {
        conn.socket.send(frame({ error: `Requested protocol '${String(m.protocol)}' is not available.` }));
        conn.socket.close(1000);
        forget(conn);
        return;
      }
      if (m.version !== 1) {
        conn.socket.send(frame({ error: `Protocol version ${String(m.version)} is not supported; use version 1.` }));
        conn.socket.close(1000);
        forget(conn);
        return;
      }
      conn.handshakeDone = true;
      conn.socket.send(frame({}));
      return;
    }
    switch (m.type) {
      case MessageKind.Ping:
        return;
      case MessageKind.Close:
        forget(conn);
        conn.socket.close(1000);
        return;
      case MessageKind.Invocation:
      case MessageKind.StreamInvocation:
        // The hub only pushes; any client-to-server call gets a completion error rather than silence.
        if (typeof m.invocationId === 'string') {
          conn.socket.send(
            frame({
              type: MessageKind.Completion,
              invocationId: m.invocationId,
              error: `Unknown hub method '${String(m.target)}'. This hub only sends notifications.`,
            }),
          );
        }
        return;
      default:
        return;
    }
  }

  async function handleNegotiate(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== 'POST') return new Response('Negotiate expects POST', { status: 405 });
    const principal = await options.authenticate(bearerFrom(request.headers.get('authorization'), url));
    if (!principal) return new Response('Unauthorized', { status: 401 });
    const version = Number(url.searchParams.get('negotiateVersion') ?? '0') >= 1 ? 1 : 0;
    const connectionId = randomUUID();
    const connectionToken = version === 1 ? randomBytes(24).toString('base64url') : connectionId;
    pending.set(connectionToken, {
      connectionId,
      applicationId: principal.applicationId,
      expiresAt: now() + negotiateTtlMs,
    });
    const body = {
      connectionId,
      ...(version === 1 ? { connectionToken, negotiateVersion: 1 } : { negotiateVersion: 0 }),
      availableTransports: [{ transport: 'WebSockets', transferFormats: ['Text'] }],
    };
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  }

  function refuse(socket: Duplex, status: number, reason: string): void {
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://hub.invalid');
    if (url.pathname.replace(/\/+$/, '') !== path) return false;
    if (closed) {
      refuse(socket, 503, 'Service Unavailable');
      return true;
    }
    const token = bearerFrom(req.headers.authorization, url);
    const id = url.searchParams.get('id');
    void (async () => {
      const principal = await options.authenticate(token).catch(() => null);
      if (!principal) return refuse(socket, 401, 'Unauthorized');
      let connectionId: string;
      if (id !== null) {
        const p = pending.get(id);
        pending.delete(id);
        if (!p || p.expiresAt <= now() || p.applicationId !== principal.applicationId) {
          return refuse(socket, 404, 'Not Found');
        }
        connectionId = p.connectionId;
      } else {
        connectionId = randomUUID(); // skipNegotiation clients
      }
      const set = connectionsOf(principal.applicationId);
      if (set.size >= maxPerApp) return refuse(socket, 429, 'Too Many Requests');
      wss.handleUpgrade(req, socket, head, (ws) => {
        const conn: HubConnection = {
          id: connectionId,
          applicationId: principal.applicationId,
          socket: ws,
          handshakeDone: false,
          lastSeenAt: now(),
        };
        set.add(conn);
        ws.on('message', (data, isBinary) => {
          conn.lastSeenAt = now();
          if (isBinary) {
            closeConnection(conn, 'Binary frames are not supported; use the JSON protocol.');
            return;
          }
          const text = data.toString();
          for (const record of text.split(RECORD_SEPARATOR)) if (record.length > 0) onRecord(conn, record);
        });
        ws.on('close', () => forget(conn));
        ws.on('error', () => forget(conn));
      });
    })();
    return true;
  }

  async function sendToApplication(applicationId: string, target: string, args: unknown[]): Promise<number> {
    const set = byApplication.get(applicationId);
    if (!set || set.size === 0) return 0;
    const payload = frame({ type: MessageKind.Invocation, target, arguments: args });
    const sends = [...set]
      .filter((c) => c.handshakeDone && c.socket.readyState === c.socket.OPEN)
      .map(
        (c) =>
          new Promise<boolean>((resolve) => {
            c.socket.send(payload, (err) => resolve(!err));
          }),
      );
    const results = await Promise.all(sends);
    return results.filter(Boolean).length;
  }

  return {
    path,
    handleNegotiate,
    handleUpgrade,
    attach(server) {
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (!handleUpgrade(req, socket, head)) {
          // Not ours: leave it to other upgrade listeners; refuse when there are none.
          if (server.listenerCount('upgrade') === 1) refuse(socket, 404, 'Not Found');
        }
      });
    },
    sendToApplication,
    connectionCount(applicationId) {
      if (applicationId !== undefined) return byApplication.get(applicationId)?.size ?? 0;
      let n = 0;
      for (const set of byApplication.values()) n += set.size;
      return n;
    },
    async close() {
      closed = true;
      clearInterval(sweep);
      for (const set of [...byApplication.values()]) for (const conn of [...set]) closeConnection(conn);
      pending.clear();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
