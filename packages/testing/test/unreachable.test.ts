import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url));

function runWith(env: Record<string, string>, code: string): string {
  try {
    execFileSync(process.execPath, ['--input-type=module', '-e', code], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: 'pipe',
    });
    return '';
  } catch (err) {
    return String((err as { stderr?: string }).stderr);
  }
}

it('fails, naming the URL, when PostgreSQL is unreachable', () => {
  const stderr = runWith(
    { DATABASE_URL: 'postgres://postgres:hunter2@127.0.0.1:9/test' },
    `const t = await import(${JSON.stringify(entry)}); await t.createTestDatabase();`,
  );
  assert.match(stderr, /PostgreSQL is not reachable at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:9\/test/);
  assert.doesNotMatch(stderr, /hunter2/);
});

it('fails, naming the URL, when the RabbitMQ management API is unreachable', () => {
  const stderr = runWith(
    { RABBITMQ_MANAGEMENT_URL: 'http://guest:guest@127.0.0.1:9' },
    `const t = await import(${JSON.stringify(entry)}); await t.createTestVhost();`,
  );
  assert.match(stderr, /RabbitMQ management API is not reachable at http:\/\/guest:\*\*\*@127\.0\.0\.1:9/);
});
