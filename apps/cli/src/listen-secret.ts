import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWebhookSecret } from '@herald/auth';
import { CliError } from './cli-error.ts';

const FILE_NAME = 'listen-signing-secret';

/**
 * The signing secret `herald listen` verifies pushes with: read from the config dir, or created
 * there (mode 0600) on first use, so it stays the same across restarts.
 */
export function loadOrCreateListenSecret(configDir: string): { secret: string; path: string; created: boolean } {
  const path = join(configDir, FILE_NAME);
  try {
    const secret = readFileSync(path, 'utf8').trim();
    if (!secret.startsWith('whsec_'))
      throw new CliError('bad_secret_file', `${path} does not hold a whsec_ signing secret`);
    return { secret, path, created: false };
  } catch (error) {
    if (error instanceof CliError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CliError('config_dir', `cannot read ${path}`, 1, { cause: error });
    }
  }
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const secret = generateWebhookSecret();
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { secret, path, created: true };
}
