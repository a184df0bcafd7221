import type { OutcomeCode } from '@herald/schemas';
import { BLOCKED_DESTINATION_CODE } from '@herald/ssrf';

export interface FailureClass {
  code: OutcomeCode;
  retryable: boolean;
  /** Safe text: fixed wording plus an error code, never a message that could carry an address. */
  error: string;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA', 'ENODATA', 'ESERVFAIL']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED|ERR_OSSL_)/;
const SAFE_CODE = /^[A-Z0-9_]{1,64}$/;

/** Every `code` in an error, its causes and (for happy-eyeballs) its aggregated errors. */
export function collectErrorCodes(err: unknown): string[] {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  for (let i = 0; i < queue.length && i < 32; i++) {
    const e = queue[i];
    if (typeof e !== 'object' || e === null || seen.has(e)) continue;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    queue.push((e as { cause?: unknown }).cause);
    const nested = (e as { errors?: unknown }).errors;
    if (Array.isArray(nested)) queue.push(...nested);
  }
  return codes;
}

/** Maps a failed exchange to an outcome code. Messages are built here, never copied from the error. */
export function classifyFailure(err: unknown): FailureClass {
  const codes = collectErrorCodes(err);
  const first = (pick: (c: string) => boolean): string | undefined => codes.find(pick);
  const safe = (c: string | undefined): string => (c !== undefined && SAFE_CODE.test(c) ? ` (${c})` : '');

  if (codes.includes(BLOCKED_DESTINATION_CODE)) {
    return { code: 'blocked', retryable: false, error: 'destination not allowed' };
  }
  const tls = first((c) => TLS_CODE.test(c));
  if (tls !== undefined) return { code: 'tls', retryable: true, error: `TLS handshake failed${safe(tls)}` };
  const dns = first((c) => DNS_CODES.has(c));
  if (dns !== undefined) return { code: 'dns', retryable: true, error: `DNS lookup failed${safe(dns)}` };
  if (codes.includes('ECONNREFUSED')) return { code: 'refused', retryable: true, error: 'connection refused' };
  const timeout = first((c) => TIMEOUT_CODES.has(c));
  if (timeout !== undefined) return { code: 'timeout', retryable: true, error: `timed out${safe(timeout)}` };
  const reset = first((c) => RESET_CODES.has(c));
  if (reset !== undefined) return { code: 'reset', retryable: true, error: `connection reset${safe(reset)}` };
  if (codes.includes('UND_ERR_INVALID_ARG') || codes.includes('ERR_INVALID_ARG_VALUE')) {
    return { code: 'internal', retryable: false, error: 'invalid request (headers or body)' };
  }
  return { code: 'network', retryable: true, error: `network error${safe(codes[0])}` };
}
