import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import net from 'node:net';
import tls from 'node:tls';
import { closeServer, listenEphemeral } from '@herald/testing';

export interface SeenRequest {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
  remoteAddress: string | undefined;
  peerCommonName: string | undefined;
}

export interface TestServer {
  port: number;
  origin: string;
  requests: SeenRequest[];
  connections: () => number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function track(server: Server, scheme: 'http' | 'https', host: string): Promise<TestServer> {
  let connections = 0;
  const sockets = new Set<Socket>();
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await listenEphemeral(server, host);
  const requests: SeenRequest[] = [];
  server.prependListener('request', (req: IncomingMessage) => {
    const socket = req.socket as tls.TLSSocket;
    const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
    const seen: SeenRequest = {
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: '',
      remoteAddress: req.socket.remoteAddress,
      peerCommonName: typeof peer?.subject?.CN === 'string' ? peer.subject.CN : undefined,
    };
    requests.push(seen);
    req.on('data', (c: Buffer) => {
      seen.body += c.toString('utf8');
    });
  });
  return {
    port,
    origin: `${scheme}://${host}:${port}`,
    requests,
    connections: () => connections,
    async close() {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}

function withBody(handler: Handler) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')));
  };
}

/** An HTTPS server on loopback; `handler` sees the whole request body. */
export async function startHttpsServer(
  tlsOptions: https.ServerOptions,
  handler: Handler,
  host = '127.0.0.1',
): Promise<TestServer> {
  const server = https.createServer(tlsOptions, withBody(handler));
  return track(server, 'https', host);
}

export async function startHttpServer(handler: Handler, host = '127.0.0.1'): Promise<TestServer> {
  const server = http.createServer(withBody(handler));
  return track(server, 'http', host);
}

/** A raw TLS server: `onSocket` writes whatever bytes it likes (slow drips, nothing at all). */
export async function startRawTlsServer(
  tlsOptions: tls.TlsOptions,
  onSocket: (socket: tls.TLSSocket) => void,
): Promise<{ port: number; close(): Promise<void>; accepted: () => number }> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server = tls.createServer(tlsOptions, (s) => {
    accepted++;
    onSocket(s);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => {});
  const port = await listenEphemeral(server);
  return {
    port,
    accepted: () => accepted,
    async close() {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}

/** A plain TCP server that accepts and never answers (not even a TLS ServerHello). */
export async function startSilentTcpServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  const port = await listenEphemeral(server);
  return {
    port,
    async close() {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}
