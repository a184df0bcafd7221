import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { describeUnhandled } from './process-guards.ts';

// In a child process: node:test handles unhandled rejections of its own process (it fails the test).
const child = (guard: boolean) => `
  import { installRejectionGuard } from ${JSON.stringify(new URL('./process-guards.ts', import.meta.url).href)};
  if (${guard}) installRejectionGuard((fields, message) => console.log(JSON.stringify({ message, ...fields })));
  const error = Object.assign(new Error('connect failed for postgres://herald:s3cret@db:5432/x'), { code: 'ECONNREFUSED' });
  void Promise.reject(error);
  setTimeout(() => console.log('still serving'), 50);
`;
const run = (guard: boolean) =>
  spawnSync(process.execPath, ['--input-type=module', '-e', child(guard)], { encoding: 'utf8', timeout: 20_000 });

describe('installRejectionGuard', () => {
  it('logs an unhandled rejection without its credentials, and the process goes on', () => {
    const r = run(true);
    assert.equal(r.status, 0, r.stderr);
    const [line, after] = r.stdout.trim().split('\n');
    assert.deepEqual(JSON.parse(line!), {
      message: 'unhandled promise rejection (kept running)',
      err: { name: 'Error', message: 'connect failed for postgres://***@db:5432/x', code: 'ECONNREFUSED' },
    });
    assert.equal(after, 'still serving');
    assert.doesNotMatch(r.stdout + r.stderr, /s3cret/);
  });

  it('is what keeps the process up: without it Node ends the process', () => {
    const r = run(false);
    assert.notEqual(r.status, 0);
    assert.doesNotMatch(r.stdout, /still serving/);
  });

  it('describes values that are not errors', () => {
    assert.deepEqual(describeUnhandled('plain text'), { name: 'non-error', message: 'plain text' });
    assert.deepEqual(describeUnhandled(undefined), { name: 'non-error', message: 'undefined' });
    assert.equal(describeUnhandled(new Error('x'.repeat(2000))).message.length, 500);
  });
});
