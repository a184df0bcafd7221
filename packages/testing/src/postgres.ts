import pg from 'pg';
import { DATABASE_URL, ServiceUnavailableError } from './env.ts';
import { uniqueName } from './unique-name.ts';

export interface TestDatabase extends AsyncDisposable {
  /** Name of the database (or schema, for createTestSchema). */
  readonly name: string;
  /** Connection URL that lands in the isolated database or schema. */
  readonly url: string;
  drop(): Promise<void>;
}

async function withAdminClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    throw new ServiceUnavailableError('PostgreSQL', DATABASE_URL, 'DATABASE_URL', err);
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates a fresh, empty database for one test; `drop()` removes it (forcing out open connections). */
export async function createTestDatabase(prefix = 'herald_test'): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  await withAdminClient((c) => c.query(`CREATE DATABASE "${name}"`));
  const u = new URL(DATABASE_URL);
  u.pathname = `/${name}`;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  };
  return { name, url: u.toString(), drop, [Symbol.asyncDispose]: drop };
}

/** Creates a fresh schema in the shared database; its URL sets `search_path` to it. Lighter than a database. */
export async function createTestSchema(prefix = 'herald_test'): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  await withAdminClient((c) => c.query(`CREATE SCHEMA "${name}"`));
  const u = new URL(DATABASE_URL);
  u.searchParams.set('options', `-c search_path=${name}`);
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await withAdminClient((c) => c.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`));
  };
  return { name, url: u.toString(), drop, [Symbol.asyncDispose]: drop };
}
