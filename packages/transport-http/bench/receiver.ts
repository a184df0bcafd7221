// Benchmark receiver, run as a child process so it does not share the client's event loop.
// Receives { ca, cert, key } over IPC, answers with the ports of a plain-TLS and an mTLS server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

interface Pki {
  ca: string;
  cert: string;
  key: string;
}

function listen(server: https.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

const handler = (req: IncomingMessage, res: ServerResponse): void => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' });
    res.end('{"ok":true}');
  });
};

process.once('message', async (pki: Pki) => {
  const tlsServer = https.createServer({ cert: pki.cert, key: pki.key, keepAliveTimeout: 30_000 }, handler);
  const mtlsServer = https.createServer(
    { cert: pki.cert, key: pki.key, ca: pki.ca, requestCert: true, rejectUnauthorized: true, keepAliveTimeout: 30_000 },
    handler,
  );
  const ports = { tls: await listen(tlsServer), mtls: await listen(mtlsServer) };
  process.send?.(ports);
  process.once('disconnect', () => process.exit(0));
});
