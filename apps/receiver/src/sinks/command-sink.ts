import { spawn } from 'node:child_process';
import type { ReceivedMessage, Sink } from './sink.ts';

export interface CommandSinkOptions {
  /** Program and arguments; no shell is involved. */
  argv: readonly string[];
  timeoutMs?: number;
}

/**
 * Runs the command once per message with the raw body on stdin; exit code 0 means handed over.
 * The message id and type are passed as HERALD_MESSAGE_ID / HERALD_MESSAGE_TYPE.
 */
export function createCommandSink(options: CommandSinkOptions): Sink {
  const [program, ...args] = options.argv;
  if (program === undefined || program === '') throw new TypeError('command sink needs a program');
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    write: (message: ReceivedMessage) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(program, args, {
          stdio: ['pipe', 'inherit', 'inherit'],
          timeout: timeoutMs,
          env: {
            ...process.env,
            HERALD_MESSAGE_ID: message.id ?? '',
            HERALD_MESSAGE_TYPE: message.messageType,
            HERALD_CORRELATION_ID: message.correlationId ?? '',
          },
        });
        child.on('error', reject);
        child.stdin.on('error', () => {}); // a command that ignores stdin is judged by its exit code
        child.on('close', (code, signal) => {
          if (code === 0) resolve();
          else reject(new Error(`command exited with ${code ?? signal}; expected 0`));
        });
        child.stdin.end(message.body);
      }),
    close: async () => {},
  };
}
