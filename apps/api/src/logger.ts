import { type DestinationStream, type Logger, pino } from 'pino';

/** Paths pino blanks in every log line, wherever a caller might put a secret by mistake. */
export const REDACTED_PATHS = [
  'password',
  'secret',
  'apiSecret',
  'token',
  'authorization',
  '*.password',
  '*.secret',
  '*.apiSecret',
  '*.token',
  '*.authorization',
  '*.secretHeaderValue',
  '*.signingSecret',
  '*.keyPem',
  'req.headers.authorization',
  'req.headers["x-api-secret"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-secret"]',
];

/** The API's structured JSON logger; `destination` is injectable so tests can read the lines. */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const opts = {
    level: options.level ?? 'info',
    base: { service: 'herald-api' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return options.destination === undefined ? pino(opts) : pino(opts, options.destination);
}
