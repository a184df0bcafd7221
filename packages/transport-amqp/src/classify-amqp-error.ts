import type { OutcomeCode } from '@herald/schemas';

export interface ClassifiedAmqpError {
  code: OutcomeCode;
  retryable: boolean;
  /** Broker reply text (e.g. `ACCESS_REFUSED - Login was refused ...`), when the broker gave one. */
  brokerReply?: string;
  /** A short description that names no resolved address and no secret. */
  error: string;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_FAIL', 'EAI_NONAME']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const NETWORK_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENETDOWN', 'EHOSTDOWN']);
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

function errorCode(err: unknown): string | number | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' || typeof code === 'number' ? code : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The quoted reply text of an amqplib close message: `... with message "ACCESS_REFUSED - ..."`. */
export function brokerReplyOf(err: unknown): string | undefined {
  const m = /with message "([^"]*)"/.exec(errorMessage(err));
  return m?.[1]?.slice(0, 300);
}

/** Whether an amqplib error is a broker refusal for lack of rights (reply code 403). */
export function isAccessRefused(err: unknown): boolean {
  return errorCode(err) === 403 || /\b403 \(ACCESS-REFUSED\)/.test(errorMessage(err));
}

/**
 * Maps an error met while connecting (socket, TLS, AMQP handshake) to an outcome code.
 * `where` is the credential-free `host:port/vhost` label used in the text.
 */
export function classifyConnectError(err: unknown, where: string): ClassifiedAmqpError {
  const code = errorCode(err);
  const message = errorMessage(err);
  const reply = brokerReplyOf(err);
  const withReply = reply === undefined ? {} : { brokerReply: reply };
  if (code === 'HERALD_BLOCKED_DESTINATION') {
    return { code: 'blocked', retryable: false, error: `broker host of ${where} is not an allowed destination` };
  }
  if (typeof code === 'string' && DNS_CODES.has(code)) {
    return { code: 'dns', retryable: true, error: `broker host of ${where} did not resolve (${code})` };
  }
  if (code === 'ECONNREFUSED') return { code: 'refused', retryable: true, error: `connection to ${where} refused` };
  if (code === 'ETIMEDOUT' || /ETIMEDOUT/.test(message)) {
    return { code: 'timeout', retryable: true, error: `connection to ${where} timed out` };
  }
  if (
    (typeof code === 'string' && (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))) ||
    /certificate|SSL routines|TLS/i.test(message)
  ) {
    return {
      code: 'tls',
      retryable: true,
      error: `TLS handshake with ${where} failed${typeof code === 'string' ? ` (${code})` : ''}`,
    };
  }
  if (typeof code === 'string' && RESET_CODES.has(code)) {
    return { code: 'reset', retryable: true, error: `connection to ${where} was reset` };
  }
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return { code: 'network', retryable: true, error: `network error reaching ${where} (${code})` };
  }
  if (isAccessRefused(err)) {
    return {
      code: 'broker_auth',
      retryable: true,
      ...withReply,
      error: `broker at ${where} refused the login (wrong username or password?)`,
    };
  }
  // RabbitMQ answers connection.open with connection.close 530 for a missing vhost or one the user may not use.
  if (/Expected ConnectionOpenOk; got <ConnectionClose/.test(message) || /\b530 \(NOT-ALLOWED\)/.test(message)) {
    return {
      code: 'broker_auth',
      retryable: true,
      ...withReply,
      error: `broker at ${where} refused access to the virtual host (missing, or no permission for this user)`,
    };
  }
  if (/closed abruptly during opening handshake|Unexpected close/.test(message)) {
    return { code: 'reset', retryable: true, error: `connection to ${where} closed during the AMQP handshake` };
  }
  return { code: 'network', retryable: true, ...withReply, error: `could not connect to ${where}` };
}
