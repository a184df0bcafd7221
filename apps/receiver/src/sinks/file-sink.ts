import { mkdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatJsonLine, type ReceivedMessage, type Sink } from './sink.ts';

interface Pending {
  line: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Appends one JSON line per message and fsyncs before resolving. Writes that arrive while a
 * flush is running are grouped into the next flush (one fsync for many messages).
 */
export function createFileSink(path: string): Sink {
  mkdirSync(dirname(path), { recursive: true });
  let handle: Promise<FileHandle> | undefined;
  let queue: Pending[] = [];
  let flushing = false;
  let closed = false;

  const getHandle = () => {
    handle ??= open(path, 'a');
    return handle;
  };

  async function flush(): Promise<void> {
    if (flushing) return;
    flushing = true;
    try {
      while (queue.length > 0) {
        const batch = queue;
        queue = [];
        try {
          const fh = await getHandle();
          await fh.appendFile(batch.map((p) => p.line).join(''), 'utf8');
          await fh.datasync();
          for (const p of batch) p.resolve();
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      flushing = false;
    }
  }

  return {
    write(message: ReceivedMessage) {
      if (closed) return Promise.reject(new Error('file sink is closed'));
      return new Promise<void>((resolve, reject) => {
        queue.push({ line: formatJsonLine(message), resolve, reject });
        void flush();
      });
    },
    async close() {
      closed = true;
      // Bounded: a disk that never answers must not hold the shutdown forever.
      for (let i = 0; i < 2_000 && (flushing || queue.length > 0); i++) await new Promise((r) => setTimeout(r, 5));
      if (handle !== undefined) await (await handle).close();
    },
  };
}
