import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stderr, stdout }) };
}

async function waitFor<T>(fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    const v = fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out');
}

describe('src/main.ts as a process', () => {
  it('starts, prints where the API, docs and credentials are (no secrets), and exits 0 on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-main-'));
    const p = run({ HERALD_DATA_DIR: dataDir, HERALD_PORT: '0' });
    try {
      const url = await waitFor(() => /Herald API: +(http:\/\/\S+)/.exec(p.output().stderr)?.[1], 30_000);
      const { stderr, stdout } = p.output();
      assert.match(stderr, /Docs: +http:\/\/\S+\/docs/);
      assert.match(
        stderr,
        new RegExp(`Credentials: +${join(dataDir, 'credentials.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      );
      assert.doesNotMatch(stderr + stdout, /hs_[A-Za-z0-9_-]{20,}/, 'no API secret printed');
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      p.child.kill('SIGTERM');
      assert.equal(await p.exited, 0);
    } finally {
      p.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a bad environment with a readable message and exit code 2', async () => {
    const p = run({ HERALD_PORT: 'eighty', HERALD_JWT_SECRET: 'tiny-secret' });
    assert.equal(await p.exited, 2);
    const { stderr } = p.output();
    assert.match(stderr, /HERALD_PORT/);
    assert.match(stderr, /HERALD_JWT_SECRET/);
    assert.doesNotMatch(stderr, /tiny-secret/);
  });

  it('stops with a readable message when a configured file is missing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-main-'));
    try {
      const p = run({ HERALD_DATA_DIR: dataDir, HERALD_PORT: '0', HERALD_EXTRA_CA_FILE: join(dataDir, 'nope.pem') });
      assert.equal(await p.exited, 2);
      assert.match(p.output().stderr, /HERALD_EXTRA_CA_FILE: cannot read .*nope\.pem \(ENOENT\)/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
