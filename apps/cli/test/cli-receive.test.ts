import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { getFreePort } from '@herald/testing';
import { CLI_MAIN, runHerald, waitUntil } from './helpers.ts';

describe('herald receive', () => {
  it('runs the reference receiver from a config file until SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-cli-receive-'));
    try {
      const port = await getFreePort();
      const config = join(dir, 'receiver.json');
      writeFileSync(
        config,
        JSON.stringify({
          listen: { port },
          allowPlainHttp: true,
          auth: { sharedSecret: { headerName: 'x-herald-secret', secrets: ['receive-test-secret-123'] } },
          sink: { type: 'file', path: 'out.jsonl' },
          dedupePath: 'dedupe.sqlite',
        }),
      );
      const child = spawn(process.execPath, [CLI_MAIN, 'receive', '--config', config], {
        env: { PATH: process.env.PATH ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await waitUntil('the receiver to listen', () => stderr.includes('receiver listening'));
      const body = JSON.stringify({
        ImageId: 'IMG-R',
        Orientation: 'Horizontal',
        ImageType: 'Custom',
        ImageState: 'Rejected',
        RejectionCode: 'R12',
        SubmissionTimeStamp: '20240229235959',
        ImageCheckingTimeStamp: '20240301000130',
      });
      const ok = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: {
          'x-herald-secret': 'receive-test-secret-123',
          'webhook-id': 'msg_r',
          'content-type': 'application/json',
        },
        body,
      });
      assert.equal(ok.status, 200);
      const denied = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'webhook-id': 'msg_x' },
        body,
      });
      assert.equal(denied.status, 401);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      const lines = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n');
      assert.equal(lines.length, 1);
      assert.equal(JSON.parse(lines[0] ?? '{}').messageType, 'ImageCheckingNotification');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 with a readable message for an invalid config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-cli-receive-'));
    try {
      const config = join(dir, 'bad.json');
      writeFileSync(config, JSON.stringify({ sink: { type: 'file' } }));
      const r = await runHerald(['receive', '--config', config]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /invalid receiver configuration/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
