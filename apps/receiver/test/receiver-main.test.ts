import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateWebhookSecret } from '@herald/auth';
import { closeServer, createTestPki, getFreePort, listenEphemeral, type TestPki } from '@herald/testing';
import { loadReceiverConfigFile } from '../src/index.ts';
import { progressMessage, push } from './helpers.ts';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.ts');

function runMain(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1_000 && Date.now() < deadline; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('receiver main process', () => {
  let pki: TestPki;
  let dir: string;
  before(async () => {
    pki = await createTestPki();
    dir = mkdtempSync(join(tmpdir(), 'herald-receiver-main-'));
    writeFileSync(join(dir, 'server.pem'), pki.server.cert);
    writeFileSync(join(dir, 'server-key.pem'), pki.server.key);
    writeFileSync(join(dir, 'ca.pem'), pki.ca.cert);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves HTTPS from a config file, forwards accepted pushes and stops on SIGTERM', async () => {
    const forwarded: Array<{ id: string | undefined; body: string }> = [];
    const target = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        forwarded.push({ id: req.headers['webhook-id'] as string | undefined, body });
        res.writeHead(204).end();
      });
    });
    const targetPort = await listenEphemeral(target);
    const port = await getFreePort();
    const secret = generateWebhookSecret();
    const configPath = join(dir, 'forward.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        listen: { host: '127.0.0.1', port },
        tls: { certFile: 'server.pem', keyFile: 'server-key.pem' },
        auth: { signature: { secrets: [secret] }, mtls: { caFile: 'ca.pem' } },
        sink: { type: 'forward', url: `http://127.0.0.1:${targetPort}/in` },
        dedupePath: 'forward-dedupe.sqlite',
      }),
    );
    const proc = runMain({ HERALD_RECEIVER_CONFIG: configPath });
    try {
      await waitUntil(() => proc.stderr().includes('receiver listening'), 'the receiver to listen');
      const body = JSON.stringify(progressMessage());
      const r = await push({
        url: `https://localhost:${port}/`,
        ca: pki.ca.cert,
        clientCert: pki.client,
        body,
        id: 'msg_fwd',
        signingSecret: secret,
      });
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(forwarded, [{ id: 'msg_fwd', body }]);
      const unsigned = await push({ url: `https://localhost:${port}/`, ca: pki.ca.cert, clientCert: pki.client, body });
      assert.equal(unsigned.status, 401);
      assert.doesNotMatch(proc.stderr(), new RegExp(secret.slice(6, 20).replace(/[+/]/g, '.')));
    } finally {
      proc.child.kill('SIGTERM');
      assert.equal(await proc.exited, 0);
      await closeServer(target);
    }
  });

  it('writes one JSON line per message to stdout with the stdout sink (logs stay on stderr)', async () => {
    const port = await getFreePort();
    // Inline config from the environment; relative paths resolve against the working directory.
    const inline = JSON.stringify({
      listen: { port },
      tls: { certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server-key.pem') },
      sink: { type: 'stdout' },
      dedupePath: ':memory:',
    });
    const proc = runMain({ HERALD_RECEIVER_CONFIG_JSON: inline });
    try {
      await waitUntil(() => proc.stderr().includes('receiver listening'), 'the receiver to listen');
      const message = progressMessage();
      const r = await push({
        url: `https://127.0.0.1:${port}/`,
        ca: pki.ca.cert,
        body: JSON.stringify(message),
        id: 'msg_out',
      });
      assert.equal(r.status, 200);
      await waitUntil(() => proc.stdout().includes('\n'), 'a line on stdout');
      const line = JSON.parse(proc.stdout().trim());
      assert.equal(line.id, 'msg_out');
      assert.deepEqual(line.message, message);
    } finally {
      proc.child.kill('SIGTERM');
      assert.equal(await proc.exited, 0);
    }
  });

  it('refuses to start with a readable message for an invalid config file', async () => {
    const configPath = join(dir, 'bad.json');
    writeFileSync(
      configPath,
      JSON.stringify({ sink: { type: 'carrier-pigeon' }, auth: { sharedSecret: { headerName: 'x-s', secrets: [] } } }),
    );
    const proc = runMain({ HERALD_RECEIVER_CONFIG: configPath });
    assert.equal(await proc.exited, 1);
    assert.match(proc.stderr(), /invalid receiver configuration/);
    assert.match(proc.stderr(), /sink/);
    const missing = runMain({});
    assert.equal(await missing.exited, 1);
    assert.match(missing.stderr(), /HERALD_RECEIVER_CONFIG/);
    const both = runMain({ HERALD_RECEIVER_CONFIG: configPath, HERALD_RECEIVER_CONFIG_JSON: '{}' });
    assert.equal(await both.exited, 1);
    assert.match(both.stderr(), /not both/);
  });

  it('resolves relative paths against the config file directory', () => {
    const configPath = join(dir, 'paths.json');
    writeFileSync(
      configPath,
      JSON.stringify({ allowPlainHttp: true, sink: { type: 'file', path: 'out/messages.jsonl' } }),
    );
    const config = loadReceiverConfigFile(configPath);
    assert.equal(config.sink.type === 'file' ? config.sink.path : '', join(dir, 'out/messages.jsonl'));
    assert.equal(config.dedupePath, join(dir, 'receiver-dedupe.sqlite'));
    assert.equal(readFileSync(configPath, 'utf8').length > 0, true);
  });
});
