import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateWebhookSecret } from '@herald/auth';
import { createTestPki, type TestPki } from '@herald/testing';
import {
  createCommandSink,
  createDedupeIndex,
  createFileSink,
  createReceiver,
  type Receiver,
  type ReceiverAuthOptions,
  type RunningReceiver,
  type Sink,
} from '../src/index.ts';
import { progressMessage, push } from './helpers.ts';

const SHARED_SECRET = 'a-shared-secret-of-enough-length';

interface Harness {
  receiver: Receiver;
  running: RunningReceiver;
  dir: string;
  sinkPath: string;
  close(): Promise<void>;
}

let pki: TestPki;
let otherPki: TestPki;
const signingSecret = generateWebhookSecret();

before(async () => {
  pki = await createTestPki();
  otherPki = await createTestPki({ caName: 'Untrusted CA' });
});

async function startHarness(
  auth: ReceiverAuthOptions,
  opts: { sink?: Sink; dir?: string; maxBodyBytes?: number } = {},
): Promise<Harness> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'herald-receiver-'));
  const sinkPath = join(dir, 'messages.jsonl');
  const receiver = createReceiver({
    auth,
    sink: opts.sink ?? createFileSink(sinkPath),
    dedupe: createDedupeIndex(join(dir, 'dedupe.sqlite')),
    tls: { certPem: pki.server.cert, keyPem: pki.server.key },
    logger: {
      info() {},
      warn: (o, m) => process.env.DEBUG_RECEIVER && console.error(m, o),
      error: (o, m) => process.env.DEBUG_RECEIVER && console.error(m, o),
    },
    ...(opts.maxBodyBytes === undefined ? {} : { maxBodyBytes: opts.maxBodyBytes }),
  });
  const running = await receiver.serve({ port: 0, host: '127.0.0.1' });
  return {
    receiver,
    running,
    dir,
    sinkPath,
    close: async () => {
      await receiver.close();
    },
  };
}

function sinkLines(path: string): Array<{ id: string; messageType: string; message: Record<string, unknown> }> {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

const allFour = (): ReceiverAuthOptions => ({
  sharedSecret: { headerName: 'x-herald-secret', secrets: [SHARED_SECRET] },
  signature: { secrets: [signingSecret] },
  ipAllowlist: { allow: ['127.0.0.2'] },
  mtls: { caPem: pki.ca.cert },
});

describe('receiver over HTTPS with every verifier configured', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(allFour());
  });
  after(async () => {
    await h.close();
    rmSync(h.dir, { recursive: true, force: true });
  });

  const good = () => ({
    url: h.running.url,
    ca: pki.ca.cert,
    clientCert: pki.client,
    localAddress: '127.0.0.2',
    headers: { 'x-herald-secret': SHARED_SECRET, 'x-correlation-id': 'corr-1' },
    signingSecret,
  });

  it('accepts a push that passes all four checks and writes it to the sink', async () => {
    const message = progressMessage(42);
    const r = await push({ ...good(), body: JSON.stringify(message), id: 'msg_all_four' });
    assert.equal(r.status, 200);
    const lines = sinkLines(h.sinkPath).filter((l) => l.id === 'msg_all_four');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.messageType, 'ImageGenerationProgress');
    assert.deepEqual(lines[0]?.message, message);
  });

  const failures: Array<[string, (g: ReturnType<typeof good>) => Parameters<typeof push>[0]]> = [
    [
      'a wrong shared secret',
      (g) => ({ ...g, body: '', headers: { 'x-herald-secret': 'not-the-right-secret-value' } }),
    ],
    ['a missing shared secret', (g) => ({ ...g, body: '', headers: {} })],
    ['a signature made with another secret', (g) => ({ ...g, body: '', signingSecret: generateWebhookSecret() })],
    [
      'no signature',
      (g) => {
        const { signingSecret: _s, ...rest } = g;
        return { ...rest, body: '' };
      },
    ],
    ['a source address outside the allowlist', (g) => ({ ...g, body: '', localAddress: '127.0.0.1' })],
    [
      'no client certificate',
      (g) => {
        const { clientCert: _c, ...rest } = g;
        return { ...rest, body: '' };
      },
    ],
    ['a client certificate from another CA', (g) => ({ ...g, body: '', clientCert: otherPki.client })],
  ];

  const bodies: string[] = [];
  for (const [name, make] of failures) {
    it(`answers a generic 401 for ${name} and sinks nothing`, async () => {
      const id = `msg_fail_${bodies.length}_${Date.now()}`;
      const r = await push({ ...make(good()), body: JSON.stringify(progressMessage()), id });
      assert.equal(r.status, 401);
      const problem = JSON.parse(r.body);
      assert.equal(problem.status, 401);
      delete problem.extensions;
      bodies.push(JSON.stringify(problem));
      assert.equal(sinkLines(h.sinkPath).filter((l) => l.id === id).length, 0);
    });
  }

  it('gives the same 401 body whichever check failed', () => {
    assert.equal(bodies.length, failures.length);
    assert.equal(new Set(bodies).size, 1);
    assert.doesNotMatch(bodies[0] ?? '', /secret|signature|certificate|allow/i);
  });

  it('answers 400 with field errors for a body that is not a Herald message', async () => {
    const bad = { ...progressMessage(), Progress: 250 };
    const r = await push({ ...good(), body: JSON.stringify(bad) });
    assert.equal(r.status, 400);
    const problem = JSON.parse(r.body);
    assert.ok(problem.errors.Progress, r.body);
    const notJson = await push({ ...good(), body: '{not json' });
    assert.equal(notJson.status, 400);
  });
});

describe('receiver limits, duplicates and sink failures', () => {
  it('answers 413 for a body above maxBodyBytes', async () => {
    const h = await startHarness({}, { maxBodyBytes: 512 });
    try {
      const big = { ...progressMessage(), ErrorMessage: 'x'.repeat(2048) };
      const r = await push({ url: h.running.url, ca: pki.ca.cert, body: JSON.stringify(big) });
      assert.equal(r.status, 413);
      const small = await push({ url: h.running.url, ca: pki.ca.cert, body: JSON.stringify(progressMessage()) });
      assert.equal(small.status, 200);
    } finally {
      await h.close();
      rmSync(h.dir, { recursive: true, force: true });
    }
  });

  it('drops a duplicate id, also after a restart on the same dedupe file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-receiver-'));
    const auth = { signature: { secrets: [signingSecret] } };
    const body = JSON.stringify(progressMessage());
    try {
      const first = await startHarness(auth, { dir });
      const a = await push({ url: first.running.url, ca: pki.ca.cert, body, id: 'msg_dup', signingSecret });
      const b = await push({ url: first.running.url, ca: pki.ca.cert, body, id: 'msg_dup', signingSecret });
      assert.equal(a.status, 200);
      assert.equal(JSON.parse(a.body).status, 'accepted');
      assert.equal(b.status, 200);
      assert.equal(JSON.parse(b.body).status, 'duplicate');
      await first.close();

      const second = await startHarness(auth, { dir });
      const c = await push({ url: second.running.url, ca: pki.ca.cert, body, id: 'msg_dup', signingSecret });
      assert.equal(c.status, 200);
      assert.equal(JSON.parse(c.body).status, 'duplicate');
      const d = await push({ url: second.running.url, ca: pki.ca.cert, body, id: 'msg_other', signingSecret });
      assert.equal(JSON.parse(d.body).status, 'accepted');
      await second.close();
      const ids = sinkLines(join(dir, 'messages.jsonl')).map((l) => l.id);
      assert.deepEqual(ids, ['msg_dup', 'msg_other']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sinks concurrent pushes of one id once', async () => {
    const h = await startHarness({});
    try {
      const body = JSON.stringify(progressMessage());
      const results = await Promise.all(
        Array.from({ length: 8 }, () => push({ url: h.running.url, ca: pki.ca.cert, body, id: 'msg_race' })),
      );
      assert.ok(results.every((r) => r.status === 200));
      assert.equal(sinkLines(h.sinkPath).length, 1);
    } finally {
      await h.close();
      rmSync(h.dir, { recursive: true, force: true });
    }
  });

  it('answers 503 when the sink fails, and accepts the same id once the sink works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-receiver-'));
    const body = JSON.stringify(progressMessage());
    try {
      const failing = await startHarness(
        {},
        { dir, sink: createCommandSink({ argv: [process.execPath, '-e', 'process.exit(3)'] }) },
      );
      const r = await push({ url: failing.running.url, ca: pki.ca.cert, body, id: 'msg_retry' });
      assert.equal(r.status, 503);
      assert.equal(JSON.parse(r.body).status, 503);
      await failing.close();

      const outPath = join(dir, 'from-command.json');
      const script = `let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{require('fs').writeFileSync(${JSON.stringify(outPath)},s+'|'+process.env.HERALD_MESSAGE_ID)})`;
      const working = await startHarness(
        {},
        { dir, sink: createCommandSink({ argv: [process.execPath, '-e', script] }) },
      );
      const ok = await push({ url: working.running.url, ca: pki.ca.cert, body, id: 'msg_retry' });
      assert.equal(ok.status, 200);
      assert.equal(JSON.parse(ok.body).status, 'accepted');
      await working.close();
      assert.equal(readFileSync(outPath, 'utf8'), `${body}|msg_retry`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('receiver configuration', () => {
  it('refuses to start without TLS unless plain HTTP is allowed, and mTLS without TLS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-receiver-'));
    try {
      const base = { sink: createFileSink(join(dir, 'x.jsonl')), dedupe: createDedupeIndex(':memory:') };
      assert.throws(() => createReceiver({ ...base, auth: {} }), { code: 'invalid_config' });
      assert.throws(() => createReceiver({ ...base, auth: { mtls: { caPem: pki.ca.cert } }, allowPlainHttp: true }), {
        code: 'invalid_config',
      });
      assert.throws(
        () => createReceiver({ ...base, auth: { ipAllowlist: { allow: ['not-an-ip'] } }, allowPlainHttp: true }),
        { code: 'invalid_cidr' },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
