import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './app-process.ts';

export const CLI_MAIN = join(REPO_ROOT, 'apps', 'cli', 'src', 'main.ts');

/** Runs `herald <args>` (apps/cli of this tree, or `cliMain`) as a process; bounded by `timeoutMs`. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 90_000,
  cliMain = CLI_MAIN,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliMain, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
