import type { Server } from 'node:net';
import { createServer } from 'node:net';

/** Starts `server` on 127.0.0.1 (or `host`) on an ephemeral port and returns the port. */
export async function listenEphemeral(server: Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('server has no TCP address');
  return addr.port;
}

/** Closes a server, forcing open connections shut. */
export async function closeServer(server: Server & { closeAllConnections?: () => void }): Promise<void> {
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A port that was free a moment ago; prefer `listenEphemeral` where the server is yours. */
export async function getFreePort(host = '127.0.0.1'): Promise<number> {
  const s = createServer();
  const port = await listenEphemeral(s, host);
  await closeServer(s);
  return port;
}
