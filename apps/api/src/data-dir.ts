import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Creates the data directory (owner-only) when missing. */
export function ensureDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** Writes a file readable by the owner only, atomically (no half-written secret after a crash). */
export function writePrivateFile(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/**
 * Reads a secret kept in the data directory, generating and saving it (mode 0600) on first use,
 * so the platform keeps the same keys across restarts.
 */
export function readOrCreateSecret(
  dir: string,
  name: string,
  generate: () => string,
): { value: string; created: boolean } {
  const path = join(dir, name);
  if (existsSync(path)) return { value: readFileSync(path, 'utf8').trim(), created: false };
  const value = generate();
  writePrivateFile(path, `${value}\n`);
  return { value, created: true };
}
