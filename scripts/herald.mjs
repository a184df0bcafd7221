#!/usr/bin/env node
// Entry point for the README's commands. Plain JavaScript that runs on any Node >= 16:
// it brings Node 24 and pnpm from the npm registry when the machine's are missing or too old,
// installs the workspace, then runs the asked command with the right toolchain.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = join(root, '.tools');
const binDir = join(toolsDir, 'bin');
const NODE_VERSION = '24.21.0';
const MIN_NODE = [22, 18];
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const PNPM_VERSION = String(rootPkg.packageManager)
  .replace(/^pnpm@/, '')
  .split('+')[0];

function log(msg) {
  process.stderr.write(`[herald] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: process.env, ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function nodeIsRecentEnough(version) {
  const [maj, min] = version.replace(/^v/, '').split('.').map(Number);
  return maj > MIN_NODE[0] || (maj === MIN_NODE[0] && min >= MIN_NODE[1]);
}

function nodePackageName() {
  const plat = { linux: 'linux', darwin: 'darwin', win32: 'win' }[process.platform];
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
  if (!plat || !arch)
    throw new Error(`no Node binary package for ${process.platform}/${process.arch}; install Node >= 22.18 yourself`);
  return `node-${plat}-${arch}`;
}

function npmInstall(spec) {
  mkdirSync(toolsDir, { recursive: true });
  if (!existsSync(join(toolsDir, 'package.json'))) writeFileSync(join(toolsDir, 'package.json'), '{"private":true}\n');
  log(`installing ${spec} into .tools/ from the npm registry`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const status = run(npm, ['install', '--prefix', toolsDir, '--no-audit', '--no-fund', spec], {
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  if (status !== 0) throw new Error(`npm install ${spec} failed (exit ${status})`);
}

/** Returns the directory holding a Node >= 22.18 binary, installing one when needed. */
function ensureNode() {
  if (nodeIsRecentEnough(process.version)) return dirname(process.execPath);
  const pkg = nodePackageName();
  const nodeBin = join(toolsDir, 'node_modules', pkg, 'bin', 'node');
  let ok = false;
  if (existsSync(nodeBin)) {
    const r = spawnSync(nodeBin, ['-v'], { encoding: 'utf8' });
    ok = r.status === 0 && r.stdout.trim() === `v${NODE_VERSION}`;
  }
  if (!ok) npmInstall(`${pkg}@${NODE_VERSION}`);
  return dirname(nodeBin);
}

/** Writes .tools/bin/{node,pnpm} shims so every child process sees one toolchain. */
function ensureShims(nodeDir) {
  mkdirSync(binDir, { recursive: true });
  const pnpmPkgFile = join(toolsDir, 'node_modules', 'pnpm', 'package.json');
  const readPnpm = () => (existsSync(pnpmPkgFile) ? JSON.parse(readFileSync(pnpmPkgFile, 'utf8')) : null);
  if (readPnpm()?.version !== PNPM_VERSION) npmInstall(`pnpm@${PNPM_VERSION}`);
  const pnpmPkg = readPnpm();
  const binField = typeof pnpmPkg.bin === 'string' ? pnpmPkg.bin : pnpmPkg.bin.pnpm;
  const pnpmEntry = join(toolsDir, 'node_modules', 'pnpm', binField);
  const nodeShim = join(binDir, 'node');
  const want = join(nodeDir, 'node');
  try {
    rmSync(nodeShim, { force: true });
  } catch {}
  symlinkSync(want, nodeShim);
  const pnpmShim = join(binDir, 'pnpm');
  writeFileSync(pnpmShim, `#!/bin/sh\nexec "${want}" "${pnpmEntry}" "$@"\n`);
  chmodSync(pnpmShim, 0o755);
}

function newestMtime(paths) {
  let t = 0;
  for (const p of paths) if (existsSync(p)) t = Math.max(t, statSync(p).mtimeMs);
  return t;
}

function workspaceManifests() {
  const out = [join(root, 'package.json'), join(root, 'pnpm-lock.yaml'), join(root, 'pnpm-workspace.yaml')];
  for (const group of ['packages', 'apps', 'tests']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) out.push(join(dir, name, 'package.json'));
  }
  return out;
}

function ensureInstall(env) {
  const marker = join(root, 'node_modules', '.modules.yaml');
  const stale = !existsSync(marker) || newestMtime(workspaceManifests()) > statSync(marker).mtimeMs;
  if (!stale && !process.env.CI) return;
  const args = ['install', process.env.CI ? '--frozen-lockfile' : '--prefer-offline'];
  log(`pnpm ${args.join(' ')}`);
  const status = run(join(binDir, 'pnpm'), args, { env });
  if (status !== 0) throw new Error(`pnpm install failed (exit ${status})`);
}

function collectTestResults() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const group of ['packages', 'apps', 'tests']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const file = join(dir, name, '.test-results', 'summary.json');
      if (!existsSync(file)) continue;
      let s;
      try {
        s = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        log(`${group}/${name}: unreadable test summary (the run was cut short); counted as one failure`);
        failed += 1;
        continue;
      }
      passed += s.passed;
      failed += s.failed;
      skipped += s.skipped;
    }
  }
  return { passed, failed, skipped };
}

function clearTestResults() {
  for (const group of ['packages', 'apps', 'tests']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) rmSync(join(dir, name, '.test-results'), { recursive: true, force: true });
  }
}

function main() {
  const [command = 'help', ...rest] = process.argv.slice(2);
  const nodeDir = ensureNode();
  ensureShims(nodeDir);
  const env = { ...process.env, PATH: `${binDir}:${nodeDir}:${process.env.PATH ?? ''}` };
  const pnpm = join(binDir, 'pnpm');
  if (command === 'setup') {
    ensureInstall(env);
    return 0;
  }
  ensureInstall(env);
  switch (command) {
    case 'test': {
      if (process.platform !== 'win32' && run('bash', [join(root, 'scripts', 'services.sh')], { env }) !== 0) {
        log('RabbitMQ and PostgreSQL must answer for the integration tests (they fail, never skip, without them)');
        process.stdout.write('\n0 passed, 1 failed\n');
        return 1;
      }
      clearTestResults();
      const checks = run(
        pnpm,
        ['exec', 'turbo', 'run', 'typecheck', '--continue', '--output-logs=errors-only', ...rest],
        { env },
      );
      const lint = run(pnpm, ['exec', 'turbo', 'run', 'lint', 'lint:root', '--continue', '--output-logs=errors-only'], {
        env,
      });
      const tests = run(pnpm, ['exec', 'turbo', 'run', 'test', '--concurrency=2', '--continue', '--force', ...rest], {
        env,
      });
      const r = collectTestResults();
      if (checks !== 0) log('typecheck failed');
      if (lint !== 0) log('lint failed');
      process.stdout.write(`\n${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}\n`);
      return checks || lint || tests || (r.failed > 0 ? 1 : 0);
    }
    case 'start':
      // The embedded default keeps its SQLite file, keys and first credentials under ./data at the repo root.
      return run(pnpm, ['--filter', '@herald/api', 'run', 'start', ...rest], {
        env: { HERALD_DATA_DIR: join(root, 'data'), ...env },
      });
    case 'bench':
      return run(pnpm, ['exec', 'turbo', 'run', 'bench', '--concurrency=1', '--force', ...rest], { env });
    default:
      return run(pnpm, [command, ...rest], { env });
  }
}

try {
  process.exitCode = main();
} catch (err) {
  log(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
