import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getFreePort } from '@herald/testing';
import { type AppProcess, spawnApp, waitFor } from './app-process.ts';

export interface SinkLine {
  id: string | null;
  messageType: string;
  receivedAt: string;
  correlationId: string | null;
  via: string;
  message: Record<string, unknown>;
}

export interface ReceiverProcess {
  proc: AppProcess;
  port: number;
  url: string;
  sinkPath: string;
  /** Lines of the file sink so far. */
  lines(): SinkLine[];
  stop(): Promise<void>;
}

/**
 * Spawns apps/receiver with a config written to `dir/receiver.json` (a file sink at
 * `dir/messages.jsonl` unless the config names another sink). Waits until it listens.
 */
export async function startReceiverProcess(
  dir: string,
  config: Record<string, unknown>,
  name = 'receiver',
): Promise<ReceiverProcess> {
  const amqpOnly = 'amqp' in config;
  const port = amqpOnly ? 0 : await getFreePort();
  const sinkPath = join(dir, 'messages.jsonl');
  const full = {
    listen: { host: '127.0.0.1', port },
    sink: { type: 'file', path: sinkPath },
    dedupePath: join(dir, 'dedupe.sqlite'),
    ...config,
  };
  const configPath = join(dir, `${name}.json`);
  writeFileSync(configPath, JSON.stringify(full, null, 2));
  const proc = spawnApp(name, 'apps/receiver/src/main.ts', {
    HERALD_RECEIVER_CONFIG: configPath,
    HERALD_LOG_LEVEL: 'info',
  });
  await waitFor(
    `${name} to start`,
    () => {
      if (proc.child.exitCode !== null) throw new Error(`${name} exited: ${proc.output()}`);
      return proc.output().includes(amqpOnly ? 'receiver consuming' : 'receiver listening') ? true : undefined;
    },
    { timeoutMs: 20_000, describe: () => proc.output() },
  );
  const scheme = 'tls' in config ? 'https' : 'http';
  return {
    proc,
    port,
    url: `${scheme}://localhost:${port}/`,
    sinkPath,
    lines() {
      let text = '';
      try {
        text = readFileSync(sinkPath, 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as SinkLine);
    },
    async stop() {
      await proc.stop('SIGTERM', 10_000);
    },
  };
}
