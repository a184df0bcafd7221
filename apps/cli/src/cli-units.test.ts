import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseHeraldMessage } from '@herald/schemas';
import { parseSince } from './commands/deliveries.ts';
import { readCliEnv } from './env.ts';
import { EXAMPLE_TYPES, exampleMessage } from './examples.ts';
import { resolveConnection } from './resolve-connection.ts';

describe('built-in examples', () => {
  it('has a valid example for every message type', () => {
    assert.equal(EXAMPLE_TYPES.length, 11);
    for (const type of EXAMPLE_TYPES) {
      const body = exampleMessage(type);
      assert.ok(body, type);
      const parsed = parseHeraldMessage(body, type === 'ImageCheckingNotification' ? type : undefined);
      assert.ok(parsed.ok, `${type}: ${JSON.stringify(parsed)}`);
      assert.equal(parsed.type, type);
    }
    assert.equal(exampleMessage('NoSuchType'), undefined);
  });
});

describe('parseSince', () => {
  const now = Date.parse('2026-01-01T12:00:00.000Z');
  it('reads durations back from now and ISO times', () => {
    assert.equal(parseSince('15m', now), '2026-01-01T11:45:00.000Z');
    assert.equal(parseSince('2h', now), '2026-01-01T10:00:00.000Z');
    assert.equal(parseSince('7d', now), '2025-12-25T12:00:00.000Z');
    assert.equal(parseSince('2025-12-31T00:00:00Z', now), '2025-12-31T00:00:00.000Z');
  });
  it('refuses anything else as a usage error', () => {
    assert.throws(() => parseSince('yesterday', now), { exitCode: 2 });
    assert.throws(() => parseSince('5w', now), { exitCode: 2 });
  });
});

describe('resolveConnection', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cli-unit-'));
  const file = join(dir, 'credentials.json');
  writeFileSync(
    file,
    JSON.stringify({
      apiUrl: 'http://127.0.0.1:1',
      operator: { apiKey: 'op-key', apiSecret: 'op-secret' },
      demo: { applicationId: 'app-1', apiKey: 'demo-key', apiSecret: 'demo-secret' },
    }),
  );
  const env = readCliEnv({});

  it('uses the operator key for operator commands and the demo key otherwise', () => {
    assert.deepEqual(resolveConnection({ credentials: file }, env, 'operator'), {
      baseUrl: 'http://127.0.0.1:1',
      apiKey: 'op-key',
      apiSecret: 'op-secret',
    });
    assert.deepEqual(resolveConnection({ credentials: file }, env, 'application'), {
      baseUrl: 'http://127.0.0.1:1',
      apiKey: 'demo-key',
      apiSecret: 'demo-secret',
      applicationId: 'app-1',
    });
  });

  it('lets flags win over the environment and the file', () => {
    const fromEnv = readCliEnv({
      HERALD_URL: 'http://env',
      HERALD_API_KEY: 'env-key',
      HERALD_API_SECRET: 'env-secret',
    });
    assert.deepEqual(resolveConnection({ credentials: file, url: 'http://flag' }, fromEnv, 'application'), {
      baseUrl: 'http://flag',
      apiKey: 'env-key',
      apiSecret: 'env-secret',
    });
  });

  it('fails with usage or auth exit codes when something is missing', () => {
    assert.throws(() => resolveConnection({}, env, 'application'), { exitCode: 2 });
    assert.throws(() => resolveConnection({ url: 'http://x' }, env, 'application'), { exitCode: 4 });
    assert.throws(() => resolveConnection({ url: 'http://x', apiKey: 'k' }, env, 'application'), { exitCode: 2 });
    rmSync(dir, { recursive: true, force: true });
  });
});
