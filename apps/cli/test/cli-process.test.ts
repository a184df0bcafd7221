import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createWebhookSigner } from '@herald/auth';
import { closeServer, getFreePort, listenEphemeral } from '@herald/testing';
import { type ApiChild, CLI_MAIN, runHerald, startApi, waitUntil } from './helpers.ts';

describe('herald CLI against a real API', () => {
  let dir: string;
  let api: ApiChild;
  let creds: string[];
  const received: Array<{ id: string; body: string }> = [];
  const target = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ id: String(req.headers['webhook-id']), body });
      res.writeHead(200).end('ok');
    });
  });
  let targetUrl: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
    api = await startApi(join(dir, 'data'), { HERALD_ALLOW_HTTP: 'true', HERALD_ALLOW_CIDRS: '127.0.0.0/8' });
    creds = ['--credentials', api.credentialsFile];
    targetUrl = `http://127.0.0.1:${await listenEphemeral(target)}/hook`;
  });
  after(async () => {
    await api?.stop();
    await closeServer(target);
    rmSync(dir, { recursive: true, force: true });
  });

  const json = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null');

  it('prints help for every command and exits 2 on usage errors', async () => {
    const help = await runHerald(['--help']);
    assert.equal(help.code, 0);
    for (const cmd of [
      'applications',
      'keys',
      'token',
      'channels',
      'send',
      'deliveries',
      'certs',
      'listen',
      'receive',
    ]) {
      assert.match(help.stdout, new RegExp(`\\b${cmd}\\b`));
    }
    assert.equal((await runHerald(['channels', 'create-webhook', '--help'])).code, 0);
    assert.equal((await runHerald(['nonsense'])).code, 2);
    assert.equal((await runHerald(['send', ...creds])).code, 2, 'send needs --example or --file');
    assert.equal((await runHerald(['deliveries', 'list', '--state', 'lost', ...creds])).code, 2);
  });

  it('exits 4 without credentials or with wrong ones, and never prints the secret', async () => {
    const none = await runHerald(['channels', 'list', '--url', api.url]);
    assert.equal(none.code, 4);
    const wrong = await runHerald([
      'channels',
      'list',
      '--url',
      api.url,
      '--api-key',
      'hk_nope',
      '--api-secret',
      'very-secret-value-123',
    ]);
    assert.equal(wrong.code, 4, wrong.stderr);
    assert.doesNotMatch(wrong.stderr + wrong.stdout, /very-secret-value-123/);
    const noUrl = await runHerald(['channels', 'list']);
    assert.equal(noUrl.code, 2);
  });

  it('manages applications, keys and tokens as the operator', async () => {
    const created = await runHerald(['applications', 'create', '--name', 'cli-test', '--json', ...creds]);
    assert.equal(created.code, 0, created.stderr);
    const app = json(created.stdout);
    assert.equal(app.name, 'cli-test');
    const list = await runHerald(['applications', 'list', ...creds]);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /cli-test/);

    const issued = json(
      (await runHerald(['keys', 'issue', '--application', app.id, '--label', 'ci', '--json', ...creds])).stdout,
    );
    assert.equal(typeof issued.secret, 'string');
    const token = await runHerald([
      'token',
      'mint',
      '--json',
      '--url',
      api.url,
      '--api-key',
      issued.key,
      '--api-secret',
      issued.secret,
    ]);
    assert.equal(token.code, 0, token.stderr);
    assert.equal(json(token.stdout).applicationId, app.id);

    const rotated = json(
      (await runHerald(['keys', 'rotate', issued.id, '--application', app.id, '--json', ...creds])).stdout,
    );
    assert.notEqual(rotated.secret, issued.secret);
    const revoke = await runHerald(['keys', 'revoke', rotated.id, '--application', app.id, ...creds]);
    assert.equal(revoke.code, 0, revoke.stderr);
    const keys = json(
      (await runHerald(['keys', 'list', '--application', app.id, '--json', ...creds])).stdout,
    ) as Array<{ id: string; revokedAt: string | null }>;
    assert.ok(keys.find((k) => k.id === rotated.id)?.revokedAt);
    const revokedToken = await runHerald([
      'token',
      'mint',
      '--url',
      api.url,
      '--api-key',
      rotated.key,
      '--api-secret',
      rotated.secret,
    ]);
    assert.equal(revokedToken.code, 4);
  });

  it('creates, lists, updates and deletes channels; a missing channel exits 3', async () => {
    const created = await runHerald([
      'channels',
      'create-webhook',
      '--webhook-url',
      `${targetUrl}?tmp=1`,
      '--retry-count',
      '2',
      '--json',
      ...creds,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const channel = json(created.stdout);
    const list = await runHerald(['channels', 'list', ...creds]);
    assert.match(list.stdout, new RegExp(channel.id));
    const updated = await runHerald([
      'channels',
      'update-webhook',
      channel.id,
      '--webhook-url',
      `${targetUrl}?tmp=2`,
      '--inactive',
      '--json',
      ...creds,
    ]);
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal(json(updated.stdout).isActive, false);
    const details = await runHerald(['channels', 'get', channel.id, '--json', ...creds]);
    assert.equal(json(details.stdout).id, channel.id);
    const active = json((await runHerald(['channels', 'active', '--json', ...creds])).stdout) as Array<{ id: string }>;
    assert.ok(!active.some((c) => c.id === channel.id));
    assert.equal((await runHerald(['channels', 'delete', channel.id, ...creds])).code, 0);
    assert.equal((await runHerald(['channels', 'get', channel.id, ...creds])).code, 3);
    const bad = await runHerald(['channels', 'create-webhook', '--webhook-url', 'ftp://nope', ...creds]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /webHookUrl/);
  });

  it('sends an example and waits until it is delivered (exit 0), or dead (exit 5)', async () => {
    const created = json(
      (
        await runHerald([
          'channels',
          'create-webhook',
          '--webhook-url',
          targetUrl,
          '--retry-count',
          '0',
          '--json',
          ...creds,
        ])
      ).stdout,
    );
    const sent = await runHerald([
      'send',
      '--example',
      'ImageGenerationProgress',
      '--correlation-id',
      'cli-1',
      '--wait',
      '--timeout',
      '30',
      '--json',
      ...creds,
    ]);
    assert.equal(sent.code, 0, sent.stderr + sent.stdout);
    const result = json(sent.stdout);
    assert.equal(result.outcome, 'delivered');
    assert.ok(received.some((r) => r.id === result.id && JSON.parse(r.body).MessageType === 'ImageGenerationProgress'));

    const show = await runHerald(['deliveries', 'show', result.deliveries[0].id, ...creds]);
    assert.equal(show.code, 0);
    assert.match(show.stdout, /#1 .* ms/);

    // A second channel nobody listens on: its delivery goes dead at once (retry count 0).
    const deadPort = await getFreePort();
    const dead = json(
      (
        await runHerald([
          'channels',
          'create-webhook',
          '--webhook-url',
          `http://127.0.0.1:${deadPort}/`,
          '--retry-count',
          '0',
          '--json',
          ...creds,
        ])
      ).stdout,
    );
    const file = join(dir, 'checking.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      file,
      JSON.stringify({
        ImageId: 'IMG-CLI-1',
        Orientation: 'Vertical',
        ImageType: 'Gallery',
        ImageState: 'Pending',
        RejectionCode: '',
        SubmissionTimeStamp: '20240229235959',
        ImageCheckingTimeStamp: '',
      }),
    );
    const failing = await runHerald(['send', '--file', file, '--wait', '--timeout', '30', '--json', ...creds]);
    assert.equal(failing.code, 5, failing.stderr + failing.stdout);
    assert.ok(Array.isArray(json(failing.stdout).deliveries), failing.stdout);
    const deadDelivery = (
      json(failing.stdout).deliveries as Array<{ id: string; state: string; channelId: string }>
    ).find((d) => d.state === 'dead');
    assert.ok(deadDelivery);
    assert.equal(deadDelivery.channelId, dead.id);

    const listed = json((await runHerald(['deliveries', 'list', '--state', 'dead', '--json', ...creds])).stdout);
    assert.ok(listed.items.some((d: { id: string }) => d.id === deadDelivery.id));
    const redeliver = await runHerald(['deliveries', 'redeliver', deadDelivery.id, '--json', ...creds]);
    assert.equal(redeliver.code, 0, redeliver.stderr);
    assert.ok(['pending', 'delivering', 'dead'].includes(json(redeliver.stdout).state));
    const recover = await runHerald([
      'deliveries',
      'recover',
      '--since',
      '1h',
      '--channel',
      dead.id,
      '--json',
      ...creds,
    ]);
    assert.equal(recover.code, 0, recover.stderr);
    assert.equal(typeof json(recover.stdout).recovered, 'number');
    assert.equal((await runHerald(['deliveries', 'show', '00000000-0000-4000-8000-000000000000', ...creds])).code, 3);
    await runHerald(['channels', 'delete', dead.id, ...creds]);
    await runHerald(['channels', 'delete', created.id, ...creds]);
  });

  it('issues local receiver certificates and mTLS client certificates through the API', async () => {
    const out = join(dir, 'certs');
    const local = await runHerald(['certs', 'server', '--out', out, '--host', 'localhost', '127.0.0.1', '--json']);
    assert.equal(local.code, 0, local.stderr);
    const cert = new X509Certificate(readFileSync(join(out, 'server.pem')));
    const ca = new X509Certificate(readFileSync(join(out, 'ca.pem')));
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey));
    assert.ok(cert.checkHost('localhost'));
    assert.equal(statSync(join(out, 'server-key.pem')).mode & 0o077, 0, 'private keys are owner-only');

    const channel = json(
      (await runHerald(['channels', 'create-webhook', '--webhook-url', targetUrl, '--json', ...creds])).stdout,
    );
    const client = await runHerald(['certs', 'client', channel.id, '--out', out, '--json', ...creds]);
    assert.equal(client.code, 0, client.stderr);
    const clientCert = new X509Certificate(readFileSync(join(out, 'client.pem')));
    const clientCa = new X509Certificate(readFileSync(join(out, 'herald-client-ca.pem')));
    assert.ok(clientCert.checkIssued(clientCa));
    await runHerald(['channels', 'delete', channel.id, ...creds]);
  });

  it('listen verifies, prints and forwards pushes with a signing secret kept across restarts', async () => {
    const configDir = join(dir, 'config');
    const port = await getFreePort();
    const start = () => {
      const child = spawn(
        process.execPath,
        [CLI_MAIN, 'listen', '--forward-to', targetUrl, '--port', String(port), '--json'],
        {
          env: { PATH: process.env.PATH ?? '', HERALD_CONFIG_DIR: configDir },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      return { child, exited, stdout: () => stdout };
    };
    const postSigned = async (id: string) => {
      const secret = readFileSync(join(configDir, 'listen-signing-secret'), 'utf8').trim();
      const body = JSON.stringify({
        ImageId: id,
        Orientation: 'Horizontal',
        ImageType: 'Gallery',
        ImageState: 'Pending',
        RejectionCode: '',
        SubmissionTimeStamp: '20240229235959',
        ImageCheckingTimeStamp: '',
      });
      const headers = createWebhookSigner({ secrets: [secret] }).sign({
        id,
        timestampSeconds: Math.floor(Date.now() / 1000),
        body,
      });
      return fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
      });
    };

    const first = start();
    await waitUntil('listen to start', () => first.stdout().includes('"event":"listening"'));
    const secretBefore = readFileSync(join(configDir, 'listen-signing-secret'), 'utf8');
    assert.equal(statSync(join(configDir, 'listen-signing-secret')).mode & 0o077, 0);
    assert.equal((await postSigned('msg_listen_1')).status, 200);
    await waitUntil('the forwarded line', () => first.stdout().includes('"event":"forwarded"'));
    assert.ok(received.some((r) => r.id === 'msg_listen_1'));
    const unsigned = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' });
    assert.equal(unsigned.status, 401);
    first.child.kill('SIGINT');
    assert.equal(await first.exited, 0);

    const second = start();
    await waitUntil('listen to restart', () => second.stdout().includes('"event":"listening"'));
    assert.equal(readFileSync(join(configDir, 'listen-signing-secret'), 'utf8'), secretBefore);
    assert.equal((await postSigned('msg_listen_2')).status, 200);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
    assert.ok(received.some((r) => r.id === 'msg_listen_2'));
  });
});
