import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createKeyring, createStore, type Channel, type ChannelOptions, type Store } from '@herald/store';
import { createTestDatabase } from '@herald/testing';
import pg from 'pg';

export type AdapterKind = 'sqlite' | 'postgres';
export const ADAPTERS: readonly AdapterKind[] = ['sqlite', 'postgres'];

export interface TestStore extends AsyncDisposable {
  store: Store;
  url: string;
  keyHex: string;
  /** Opens another store on the same database (another "process"). */
  open(): Promise<Store>;
  close(): Promise<void>;
}

/** A migrated store on its own SQLite temp file or its own PostgreSQL database. */
export async function openTestStore(kind: AdapterKind): Promise<TestStore> {
  const keyHex = randomBytes(32).toString('hex');
  const keyring = createKeyring({ current: { id: 'test', key: Buffer.from(keyHex, 'hex') } });
  let url: string;
  let cleanup: () => Promise<void>;
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'herald-engine-'));
    url = `sqlite:${join(dir, 'herald.db')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const db = await createTestDatabase('herald_engine');
    url = db.url;
    cleanup = () => db.drop();
  }
  const opened: Store[] = [];
  const open = async () => {
    const s = await createStore({ url, keyring });
    await s.migrate();
    opened.push(s);
    return s;
  };
  const store = await open();
  const close = async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => {});
    await cleanup();
  };
  return { store, url, keyHex, open, close, [Symbol.asyncDispose]: close };
}

export function testClock(start = Date.UTC(2026, 0, 1)) {
  const clock = {
    now: start,
    read: () => clock.now,
    advance(ms: number) {
      clock.now += ms;
    },
  };
  return clock;
}

export async function createWebhookChannel(
  store: Store,
  applicationId: string,
  opts: { retryCount?: number; factor?: number; includeImageData?: boolean; options?: ChannelOptions } = {},
): Promise<Channel> {
  return store.createChannel({
    applicationId,
    kind: 0,
    isActive: true,
    includeImageData: opts.includeImageData ?? true,
    config: {
      webHookUrl: 'https://receiver.invalid/hook',
      retryCount: opts.retryCount ?? 3,
      exponentialBackoffFactor: opts.factor ?? 2,
    },
    ...(opts.options ? { options: opts.options } : {}),
  });
}

export async function createApp(store: Store): Promise<string> {
  const app = await store.createApplication({ name: `app-${randomUUID().slice(0, 8)}` });
  return app.id;
}

export function progressMessage(applicationId: string, processId: string, progress: number) {
  const taskId = randomUUID();
  return {
    MessageType: 'ImageGenerationProgress',
    RequestRenderState: 'InProgress',
    ApplicationId: applicationId,
    UserId: '0b0d6f1e-5b8e-4d0c-9d5c-1c1f0e9f1a11',
    ImageRenderProcessId: processId,
    TotalTaskCount: 4,
    CompletedTaskCount: 1,
    Progress: progress,
    Tasks: { [taskId]: 'InProgress' },
    RenderKind: 1,
    RenderType: 2,
    IsSuccessful: true,
    ErrorMessage: '',
  };
}

export function completedMessage(
  applicationId: string,
  processId: string,
  imageBase64: string | null = 'aGVsbG8gd29ybGQ=',
) {
  return {
    MessageType: 'ImageGenerationTaskCompleted',
    ApplicationId: applicationId,
    UserId: '0b0d6f1e-5b8e-4d0c-9d5c-1c1f0e9f1a11',
    ImageRenderProcessId: processId,
    TaskId: randomUUID(),
    ...(imageBase64 === null ? {} : { ImageContentBytes: imageBase64 }),
    IsSuccessful: true,
    ErrorMessage: '',
  };
}

/** Polls `check` until it returns true; bounded in time and count. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const started = performance.now();
  for (let i = 0; i < 100_000; i++) {
    if (await check()) return;
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Runs raw SQL on the test database behind the store's back (another connection), e.g. to corrupt a row. */
export async function rawSql(t: TestStore, text: string): Promise<Record<string, unknown>[]> {
  if (t.url.startsWith('sqlite:')) {
    const db = new DatabaseSync(t.url.slice('sqlite:'.length), { timeout: 5000 });
    try {
      return db.prepare(text).all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: t.url });
  await client.connect();
  try {
    return (await client.query(text)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown> | undefined;
}

/** A logger that keeps what it is told, for assertions. */
export function capturingLogger() {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}
