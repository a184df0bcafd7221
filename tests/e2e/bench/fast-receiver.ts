// A minimal loopback HTTP receiver for the benchmark, run as a forked child (IPC for control).
// It answers 200 at once and records each arrival: webhook-id (dedupe) and x-correlation-id
// ("bench-<publishEpochMs>-<seq>" in the steady-state runs) with the arrival time.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const seen = new Set<string>();
let total = 0;
let firstArrivalMs = 0;
let lastArrivalMs = 0;
let latencies: number[] = [];

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    total++;
    const id = req.headers['webhook-id'];
    if (typeof id === 'string' && !seen.has(id)) {
      seen.add(id);
      if (firstArrivalMs === 0) firstArrivalMs = now;
      lastArrivalMs = now;
      const corr = req.headers['x-correlation-id'];
      if (typeof corr === 'string' && corr.startsWith('bench-')) {
        const publishedMs = Number(corr.split('-')[1]);
        if (Number.isFinite(publishedMs)) latencies.push(now - publishedMs);
      }
    } else if (id === undefined) {
      if (firstArrivalMs === 0) firstArrivalMs = now;
      lastArrivalMs = now;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
});
server.keepAliveTimeout = 60_000;

server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'listening', port: (server.address() as AddressInfo).port });
});

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'stats') {
    process.send?.({ type: 'stats', total, unique: seen.size, firstArrivalMs, lastArrivalMs });
  } else if (msg.type === 'latencies') {
    process.send?.({ type: 'latencies', latencies });
  } else if (msg.type === 'reset') {
    seen.clear();
    total = 0;
    firstArrivalMs = 0;
    lastArrivalMs = 0;
    latencies = [];
    process.send?.({ type: 'reset' });
  } else if (msg.type === 'close') {
    server.close();
    server.closeAllConnections();
    process.disconnect?.();
  }
});
