import type { Writable } from 'node:stream';
import { formatJsonLine, type ReceivedMessage, type Sink } from './sink.ts';

/** Writes one JSON line per message to a stream (stdout by default); resolves once the stream took it. */
export function createStdoutSink(stream: Writable = process.stdout): Sink {
  return {
    write: (message: ReceivedMessage) =>
      new Promise<void>((resolve, reject) => {
        stream.write(formatJsonLine(message), (error) => (error ? reject(error) : resolve()));
      }),
    close: async () => {},
  };
}
