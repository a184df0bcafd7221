import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { closeServer, getFreePort, listenEphemeral } from '@herald/testing';
import { REPO_ROOT, waitFor } from '../src/app-process.ts';
import { runCli } from '../src/run-cli.ts';

/** Kills the process group of a child spawned with `detached: true` (npm → herald.mjs → pnpm → node). */
async function stopGroup(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {}
  }, 20_000);
  await exited;
  clearTimeout(timer);
}

describe('the README start command in a fresh clone, driven by the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-e2e-clone-'));
  const clone = join(dir, 'herald');
  const received: Array<{ id: string; body: string }> = [];
  const target = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ id: String(req.headers['webhook-id']), body });
      res.writeHead(200).end();
    });
  });
  const children: Array<{ child: ChildProcess; exited: Promise<unknown> }> = [];

  after(async () => {
    for (const c of children.reverse()) await stopGroup(c.child, c.exited);
    await closeServer(target);
    rmSync(dir, { recursive: true, force: true });
  });

  it('npm start in a clone serves the API; the CLI creates a channel to a local listener, sends, and sees it delivered', {
    timeout: 420_000,
  }, async () => {
    const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    execFileSync('git', ['clone', '--quiet', '--no-hardlinks', root, clone], { stdio: 'ignore' });
    // The toolchain script would fetch pnpm from the registry; give the clone the same pnpm instead.
    cpSync(join(root, '.tools', 'node_modules', 'pnpm'), join(clone, '.tools', 'node_modules', 'pnpm'), {
      recursive: true,
    });

    const port = await getFreePort();
    let output = '';
    const child = spawn('npm', ['start'], {
      cwd: clone,
      detached: true,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? dir,
        HERALD_PORT: String(port),
        HERALD_HOST: '127.0.0.1',
        HERALD_ALLOW_HTTP: 'true',
        HERALD_ALLOW_CIDRS: '127.0.0.0/8',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    children.push({ child, exited });

    const credentials = join(clone, 'data', 'credentials.json');
    await waitFor(
      'the one-command start to serve the API and write credentials',
      async () => {
        if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
        if (!existsSync(credentials)) return undefined;
        const r = await fetch(`http://127.0.0.1:${port}/healthz`);
        return r.status === 200 ? true : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 500, describe: () => output },
    );
    assert.match(output, /credentials\.json/, 'the start prints where the credentials are');

    const targetUrl = `http://127.0.0.1:${await listenEphemeral(target)}/hook`;
    const listenPort = await getFreePort();
    const creds = ['--credentials', credentials];
    // The clone's own CLI drives it.
    const cli = join(clone, 'apps', 'cli', 'src', 'main.ts');
    const herald = (args: string[]) => runCli(args, {}, 90_000, cli);
    const created = await herald([
      'channels',
      'create-webhook',
      '--webhook-url',
      `http://127.0.0.1:${listenPort}/`,
      '--retry-count',
      '3',
      '--json',
      ...creds,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const channelId = JSON.parse(created.stdout).id as string;

    // herald listen: the local receiver; --channel puts its persisted signing secret on the channel.
    let listenOut = '';
    const listen = spawn(
      process.execPath,
      [
        cli,
        'listen',
        '--forward-to',
        targetUrl,
        '--port',
        String(listenPort),
        '--channel',
        channelId,
        '--json',
        ...creds,
      ],
      {
        env: { PATH: process.env.PATH ?? '', HERALD_CONFIG_DIR: join(dir, 'config') },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    listen.stdout?.on('data', (d: Buffer) => (listenOut += d.toString()));
    listen.stderr?.on('data', (d: Buffer) => (listenOut += d.toString()));
    children.push({ child: listen, exited: new Promise((resolve) => listen.once('exit', resolve)) });
    await waitFor('herald listen', () => (listenOut.includes('"event":"listening"') ? true : undefined), {
      timeoutMs: 60_000,
      describe: () => listenOut,
    });

    const sent = await herald([
      'send',
      '--example',
      'ImageGenerationTaskCompleted',
      '--wait',
      '--timeout',
      '60',
      '--json',
      ...creds,
    ]);
    assert.equal(sent.code, 0, `${sent.stdout}\n${sent.stderr}\n${listenOut}`);
    const result = JSON.parse(sent.stdout.trim().split('\n').at(-1) ?? '{}') as { id: string; outcome: string };
    assert.equal(result.outcome, 'delivered');
    const got = received.find((r) => r.id === result.id);
    assert.ok(got, 'the local service behind the listener got the push');
    assert.equal(JSON.parse(got.body).MessageType, 'ImageGenerationTaskCompleted');
    assert.match(listenOut, /"event":"forwarded"/);
  });
});
