import { randomBytes } from 'node:crypto';

/** A lowercase name safe for databases, schemas and vhosts: `prefix_<time>_<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}
