import { getRandomValues } from 'node:crypto';

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

export type RandomBytes = (length: number) => Uint8Array;

const defaultRandomBytes: RandomBytes = (length) => getRandomValues(new Uint8Array(length));

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function randomNonZeroHex(length: number, randomBytes: RandomBytes): string {
  // An all-zero id is invalid in W3C trace context; retry a bounded number of times.
  for (let i = 0; i < 8; i++) {
    const hex = toHex(randomBytes(length));
    if (/[1-9a-f]/.test(hex)) return hex;
  }
  return `${'0'.repeat(length * 2 - 1)}1`;
}

/**
 * The `extensions.traceId` of a problem, in the documents' form `00-<32 hex>-<16 hex>-00`.
 * Keeps the trace id of a valid W3C `traceparent` header (with a new span id); otherwise a new random one.
 */
export function traceIdFromTraceparent(header?: string | null, randomBytes: RandomBytes = defaultRandomBytes): string {
  const traceId = parseTraceparentTraceId(header) ?? randomNonZeroHex(16, randomBytes);
  return `00-${traceId}-${randomNonZeroHex(8, randomBytes)}-00`;
}

/** The trace id of a valid W3C `traceparent` header, or null. */
export function parseTraceparentTraceId(header?: string | null): string | null {
  if (typeof header !== 'string') return null;
  const m = traceparentPattern.exec(header.trim());
  if (m === null) return null;
  const [, version, traceId, parentId, , rest] = m;
  if (version === 'ff') return null;
  // Version 00 has exactly four fields; later versions may append more.
  if (version === '00' && rest !== undefined) return null;
  if (traceId === undefined || /^0+$/.test(traceId) || parentId === undefined || /^0+$/.test(parentId)) return null;
  return traceId;
}
