import { StoreIntegrityError } from './errors.ts';
import type { Keyring } from './keyring.ts';
import type {
  ApiKey,
  ApiKeyRole,
  Application,
  Attempt,
  Channel,
  ChannelConfig,
  ChannelKind,
  ChannelOptions,
  ChannelSecrets,
  Delivery,
  DeliveryState,
  MessageRecord,
  OperationalEvent,
  RejectionCode,
} from './types.ts';

/** A result row of either driver: node:sqlite gives 0/1 for booleans and Uint8Array for blobs, pg gives booleans and Buffers. */
export type Row = Record<string, unknown>;

function fail(column: string, value: unknown): never {
  throw new StoreIntegrityError('STORED_VALUE_INVALID', `column ${column} holds an unexpected ${typeof value}`);
}
export function str(r: Row, c: string): string {
  const v = r[c];
  return typeof v === 'string' ? v : fail(c, v);
}
export function strOrNull(r: Row, c: string): string | null {
  const v = r[c];
  return v === null || v === undefined ? null : typeof v === 'string' ? v : fail(c, v);
}
export function num(r: Row, c: string): number {
  const v = r[c];
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' || typeof v === 'string') return Number(v);
  return fail(c, v);
}
export function numOrNull(r: Row, c: string): number | null {
  const v = r[c];
  return v === null || v === undefined ? null : num(r, c);
}
export function bool(r: Row, c: string): boolean {
  const v = r[c];
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  return fail(c, v);
}
export function bytes(r: Row, c: string): Uint8Array {
  const v = r[c];
  return v instanceof Uint8Array ? v : fail(c, v);
}
function json<T>(r: Row, c: string): T {
  try {
    return JSON.parse(str(r, c)) as T;
  } catch (cause) {
    throw new StoreIntegrityError('STORED_VALUE_INVALID', `column ${c} is not valid JSON`, { cause });
  }
}

export function toApplication(r: Row): Application {
  return {
    id: str(r, 'id'),
    name: str(r, 'name'),
    rateLimitPerSecond: numOrNull(r, 'rate_limit_per_second'),
    createdAt: num(r, 'created_at'),
  };
}

export function toApiKey(r: Row): ApiKey {
  return {
    id: str(r, 'id'),
    applicationId: strOrNull(r, 'application_id'),
    role: str(r, 'role') as ApiKeyRole,
    key: str(r, 'key'),
    secretHash: str(r, 'secret_hash'),
    label: strOrNull(r, 'label'),
    credits: numOrNull(r, 'credits'),
    createdAt: num(r, 'created_at'),
    revokedAt: numOrNull(r, 'revoked_at'),
  };
}

/** The columns toMessage reads (claims select exactly these). */
export const MESSAGE_COLUMNS: readonly string[] = [
  'id',
  'application_id',
  'type',
  'body',
  'correlation_id',
  'traceparent',
  'idempotency_key',
  'body_hash',
  'created_at',
];

export function toMessage(r: Row, prefix = ''): MessageRecord {
  return {
    id: str(r, `${prefix}id`),
    applicationId: str(r, `${prefix}application_id`),
    type: str(r, `${prefix}type`),
    body: str(r, `${prefix}body`),
    correlationId: strOrNull(r, `${prefix}correlation_id`),
    traceparent: strOrNull(r, `${prefix}traceparent`),
    idempotencyKey: strOrNull(r, `${prefix}idempotency_key`),
    bodyHash: str(r, `${prefix}body_hash`),
    createdAt: num(r, `${prefix}created_at`),
  };
}

export function toDelivery(r: Row): Delivery {
  const attempts = num(r, 'attempts');
  return {
    id: str(r, 'id'),
    messageId: str(r, 'message_id'),
    applicationId: str(r, 'application_id'),
    channelId: str(r, 'channel_id'),
    state: str(r, 'state') as DeliveryState,
    attempts,
    attemptsSinceReset: attempts - num(r, 'attempts_at_reset'),
    nextAttemptAt: num(r, 'next_attempt_at'),
    leaseOwner: strOrNull(r, 'lease_owner'),
    leaseExpiresAt: numOrNull(r, 'lease_expires_at'),
    orderingKey: strOrNull(r, 'ordering_key'),
    coalesceKey: strOrNull(r, 'coalesce_key'),
    lastOutcome: strOrNull(r, 'last_outcome'),
    lastStatusCode: numOrNull(r, 'last_status_code'),
    lastError: strOrNull(r, 'last_error'),
    createdAt: num(r, 'created_at'),
    updatedAt: num(r, 'updated_at'),
    deliveredAt: numOrNull(r, 'delivered_at'),
  };
}

export function toAttempt(r: Row): Attempt {
  return {
    id: str(r, 'id'),
    deliveryId: str(r, 'delivery_id'),
    messageId: str(r, 'message_id'),
    channelId: str(r, 'channel_id'),
    applicationId: str(r, 'application_id'),
    attemptNumber: num(r, 'attempt_number'),
    startedAt: num(r, 'started_at'),
    durationMs: num(r, 'duration_ms'),
    ok: bool(r, 'ok'),
    outcome: str(r, 'outcome'),
    statusCode: numOrNull(r, 'status_code'),
    brokerReply: strOrNull(r, 'broker_reply'),
    error: strOrNull(r, 'error'),
    responseExcerpt: strOrNull(r, 'response_excerpt'),
  };
}

export function toEvent(r: Row): OperationalEvent {
  return {
    id: str(r, 'id'),
    applicationId: str(r, 'application_id'),
    channelId: strOrNull(r, 'channel_id'),
    type: str(r, 'type'),
    detail: str(r, 'detail'),
    createdAt: num(r, 'created_at'),
  };
}

export function toRejectionCode(r: Row): RejectionCode {
  return { applicationId: str(r, 'application_id'), code: str(r, 'code'), description: str(r, 'description') };
}

const MAX_CACHED_SECRETS = 10_000;

/**
 * Seals and opens channel secrets. Opened secrets are cached per channel and reused while the stored
 * blob is byte-identical, so claims do not run AES once per delivery.
 */
export interface SecretsCodec {
  seal(applicationId: string, channelId: string, secrets: ChannelSecrets): Buffer;
  open(applicationId: string, channelId: string, blob: Uint8Array): ChannelSecrets;
  readonly keyring: Keyring;
}

export function createSecretsCodec(keyring: Keyring): SecretsCodec {
  const cache = new Map<string, { blob: Buffer; secrets: ChannelSecrets }>();
  const aadOf = (applicationId: string, channelId: string) => `${applicationId}:${channelId}`;
  return {
    keyring,
    seal(applicationId, channelId, secrets) {
      return keyring.seal(Buffer.from(JSON.stringify(secrets), 'utf8'), aadOf(applicationId, channelId));
    },
    open(applicationId, channelId, blob) {
      const cacheKey = aadOf(applicationId, channelId);
      const hit = cache.get(cacheKey);
      if (hit?.blob.equals(blob)) return structuredClone(hit.secrets);
      const plain = keyring.open(blob, cacheKey);
      let secrets: ChannelSecrets;
      try {
        secrets = JSON.parse(plain.toString('utf8')) as ChannelSecrets;
      } catch (cause) {
        throw new StoreIntegrityError('STORED_VALUE_INVALID', 'decrypted channel secrets are not JSON', { cause });
      }
      if (cache.size >= MAX_CACHED_SECRETS) cache.clear();
      cache.set(cacheKey, { blob: Buffer.from(blob), secrets });
      return structuredClone(secrets);
    },
  };
}

/**
 * A channel whose `secrets` are decrypted on first access (and on each later one, from the codec's cache), for
 * readers that rarely need them (publish plans only look at ids and options). Frozen, so a plan callback cannot
 * alter a channel that a store may hand out again. A blob that fails to decrypt throws on access, not on read.
 */
export function toLazyChannel(r: Row, codec: SecretsCodec): Channel {
  const id = str(r, 'id');
  const applicationId = str(r, 'application_id');
  const blob = bytes(r, 'secrets');
  const channel = {
    id,
    applicationId,
    kind: num(r, 'kind') as ChannelKind,
    isActive: bool(r, 'is_active'),
    includeImageData: bool(r, 'include_image_data'),
    config: Object.freeze(json<ChannelConfig>(r, 'config')),
    options: Object.freeze(json<ChannelOptions>(r, 'options')),
    disabledReason: strOrNull(r, 'disabled_reason'),
    failingSince: numOrNull(r, 'failing_since'),
    createdAt: num(r, 'created_at'),
    updatedAt: num(r, 'updated_at'),
  };
  Object.defineProperty(channel, 'secrets', {
    enumerable: true,
    get: () => codec.open(applicationId, id, blob),
  });
  return Object.freeze(channel) as unknown as Channel;
}

export function toChannel(r: Row, codec: SecretsCodec, prefix = ''): Channel {
  const id = str(r, `${prefix}id`);
  const applicationId = str(r, `${prefix}application_id`);
  return {
    id,
    applicationId,
    kind: num(r, `${prefix}kind`) as ChannelKind,
    isActive: bool(r, `${prefix}is_active`),
    includeImageData: bool(r, `${prefix}include_image_data`),
    config: json<ChannelConfig>(r, `${prefix}config`),
    secrets: codec.open(applicationId, id, bytes(r, `${prefix}secrets`)),
    options: json<ChannelOptions>(r, `${prefix}options`),
    disabledReason: strOrNull(r, `${prefix}disabled_reason`),
    failingSince: numOrNull(r, `${prefix}failing_since`),
    createdAt: num(r, `${prefix}created_at`),
    updatedAt: num(r, `${prefix}updated_at`),
  };
}
