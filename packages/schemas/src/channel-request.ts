import { z } from 'zod';
import { closedObject } from './closed-object.ts';
import { describeValue } from './describe-value.ts';
import { formBoolean, formInt, formNumber } from './form-values.ts';

/** Bounds on channel request fields; see the README for why. */
export const CHANNEL_LIMITS = {
  retryCountMin: 0,
  retryCountMax: 20,
  backoffFactorMin: 1,
  backoffFactorMax: 10,
  urlMaxLength: 2048,
  usernameMaxLength: 255,
  passwordMaxLength: 1024,
  /** AMQP short strings are at most 255 bytes. */
  queueNameMaxLength: 255,
  secretHeaderNameMaxLength: 128,
  secretHeaderValueMaxLength: 1024,
  maxInFlightMin: 1,
  maxInFlightMax: 100,
} as const;

/** Message fields a channel can order deliveries by. */
export const ORDERING_KEYS = ['ImageId', 'ImageRenderProcessId'] as const;

/** Header names Herald sets itself or that HTTP reserves, so they cannot carry the shared secret. */
export const RESERVED_HEADER_NAMES: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
  'proxy-connection',
  'accept',
  'user-agent',
  'x-correlation-id',
  'traceparent',
  'tracestate',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]);

const headerNamePattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible ASCII and inner spaces: no CR/LF (header injection), no leading/trailing blanks.
const headerValuePattern = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;
const signingSecretPattern = /^whsec_([A-Za-z0-9+/]+={0,2})$/;
const controlCharPattern = /\p{Cc}/u;
const urlForbiddenCharPattern = /[\p{Cc}\s]/u;

function urlField(schemes: readonly string[], what: string) {
  const expected = `expected an absolute ${schemes.map((s) => `${s}//`).join(' or ')} URL for ${what}`;
  return z
    .string({ error: (i) => `${expected}; received ${describeValue(i.input)}` })
    .max(CHANNEL_LIMITS.urlMaxLength, {
      error: () => `${expected} of at most ${CHANNEL_LIMITS.urlMaxLength} characters`,
    })
    .superRefine((text, ctx) => {
      // The URL parser silently drops tabs/newlines and trims blanks; the stored text must not carry them.
      if (urlForbiddenCharPattern.test(text)) {
        ctx.addIssue({ code: 'custom', message: `${expected}; received text with blanks or control characters` });
        return;
      }
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        // The text may hold credentials: never echo it.
        ctx.addIssue({ code: 'custom', message: `${expected}; received text that is not a URL` });
        return;
      }
      if (!schemes.includes(url.protocol)) {
        ctx.addIssue({ code: 'custom', message: `${expected}; received a ${url.protocol}// URL` });
      } else if (url.username !== '' || url.password !== '') {
        ctx.addIssue({
          code: 'custom',
          message: `${expected} without user:password in it; put credentials in their own fields`,
        });
      } else if (url.hash !== '') {
        ctx.addIssue({ code: 'custom', message: `${expected} without a #fragment` });
      } else if (url.hostname === '') {
        ctx.addIssue({ code: 'custom', message: `${expected} with a host` });
      }
    });
}

/** Optional text field whose content is secret: errors never repeat what was received. */
function secretText(what: string, pattern: RegExp, maxLength: number) {
  return z
    .string({ error: () => `expected ${what} as a string` })
    .max(maxLength, { error: () => `expected ${what} of at most ${maxLength} characters` })
    .regex(pattern, { error: () => `expected ${what}` });
}

const deliveryOptions = {
  /** Deliver messages with the same value of this field one at a time, in order. */
  orderingKey: z
    .enum(ORDERING_KEYS, {
      error: (i) => `expected one of ${ORDERING_KEYS.join(', ')}; received ${describeValue(i.input)}`,
    })
    .optional(),
  /** Drop a pending progress message when a newer one for the same render process arrives. */
  coalesceProgress: formBoolean().optional(),
  maxInFlight: formInt(CHANNEL_LIMITS.maxInFlightMin, CHANNEL_LIMITS.maxInFlightMax).optional(),
};

/**
 * Body of POST/PUT `/api/v1/Notification/ChannelConfiguration/WebHook`, as form-data field
 * strings or JSON. The documented fields are required but `includeImageData` (default false); the rest are Herald's optional additions.
 */
export const WebHookChannelRequest = closedObject({
  isActive: formBoolean(),
  retryCount: formInt(CHANNEL_LIMITS.retryCountMin, CHANNEL_LIMITS.retryCountMax),
  webHookUrl: urlField(['https:', 'http:'], 'the webhook'),
  exponentialBackoffFactor: formNumber(CHANNEL_LIMITS.backoffFactorMin, CHANNEL_LIMITS.backoffFactorMax),
  /** Optional: false when a new channel omits it (as the documented server binds a missing bool); an update that omits it keeps it. */
  includeImageData: formBoolean().optional(),
  /** Header that carries the shared secret on every push (e.g. "X-Herald-Secret"). */
  secretHeaderName: z
    .string({ error: (i) => `expected a header name; received ${describeValue(i.input)}` })
    .max(CHANNEL_LIMITS.secretHeaderNameMaxLength, {
      error: () => `expected a header name of at most ${CHANNEL_LIMITS.secretHeaderNameMaxLength} characters`,
    })
    .regex(headerNamePattern, {
      error: (i) =>
        `expected an HTTP header name (letters, digits, - and !#$%&'*+.^_\`|~); received ${describeValue(i.input)}`,
    })
    .refine((name) => !RESERVED_HEADER_NAMES.has(name.toLowerCase()), {
      error: (i) => `expected a header name Herald does not set itself; received ${describeValue(i.input)}`,
    })
    .optional(),
  secretHeaderValue: secretText(
    'a header value of visible ASCII characters (no line breaks, no leading or trailing blanks)',
    headerValuePattern,
    CHANNEL_LIMITS.secretHeaderValueMaxLength,
  ).optional(),
  /** Standard Webhooks signing secret: "whsec_" + base64 of 24 to 64 random bytes. */
  signingSecret: z
    .string({ error: () => 'expected a signing secret as a string' })
    .superRefine((text, ctx) => {
      const m = signingSecretPattern.exec(text);
      if (m === null || text.length > 200) {
        ctx.addIssue({ code: 'custom', message: 'expected a signing secret of the form whsec_<base64>' });
        return;
      }
      const bytes = Buffer.from(m[1] ?? '', 'base64').length;
      if (bytes < 24 || bytes > 64) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected a signing secret whose base64 part decodes to 24 to 64 bytes',
        });
      }
    })
    .optional(),
  /** The fixed source IP pushes leave from, for the receiver's allow-list. */
  sourceAddress: z
    .union([z.ipv4(), z.ipv6()], {
      error: (i) => `expected an IPv4 or IPv6 address; received ${describeValue(i.input)}`,
    })
    .optional(),
  /** "generate": Herald issues a client certificate for mutual TLS with this endpoint. */
  clientCertificate: z
    .literal('generate', { error: (i) => `expected "generate" or no value; received ${describeValue(i.input)}` })
    .optional(),
  ...deliveryOptions,
}).check((ctx) => {
  const { secretHeaderName, secretHeaderValue } = ctx.value;
  if (secretHeaderName !== undefined && secretHeaderValue === undefined) {
    ctx.issues.push({
      code: 'custom',
      input: undefined,
      path: ['secretHeaderValue'],
      message: 'expected secretHeaderValue when secretHeaderName is given',
    });
  }
  if (secretHeaderValue !== undefined && secretHeaderName === undefined) {
    ctx.issues.push({
      code: 'custom',
      input: undefined,
      path: ['secretHeaderName'],
      message: 'expected secretHeaderName when secretHeaderValue is given',
    });
  }
});
export type WebHookChannelRequest = z.output<typeof WebHookChannelRequest>;
export type WebHookChannelRequestInput = z.input<typeof WebHookChannelRequest>;

/**
 * Body of POST/PUT `/api/v1/Notification/ChannelConfiguration/RabbitMQ`, as form-data field strings
 * or JSON. The documented fields are required but `includeImageData` (default false); the rest are Herald's optional additions.
 */
export const RabbitMqChannelRequest = closedObject({
  isActive: formBoolean(),
  url: urlField(['amqp:', 'amqps:'], 'the broker'),
  username: z
    .string({ error: (i) => `expected a username; received ${describeValue(i.input)}` })
    .min(1, { error: () => 'expected a non-empty username' })
    .max(CHANNEL_LIMITS.usernameMaxLength, {
      error: () => `expected a username of at most ${CHANNEL_LIMITS.usernameMaxLength} characters`,
    })
    .refine((s) => !controlCharPattern.test(s), { error: () => 'expected a username without control characters' }),
  password: z
    .string({ error: () => 'expected a password as a string' })
    .min(1, { error: () => 'expected a non-empty password' })
    .max(CHANNEL_LIMITS.passwordMaxLength, {
      error: () => `expected a password of at most ${CHANNEL_LIMITS.passwordMaxLength} characters`,
    })
    .refine((s) => !controlCharPattern.test(s), { error: () => 'expected a password without control characters' }),
  queueName: z
    .string({ error: (i) => `expected a queue name; received ${describeValue(i.input)}` })
    .min(1, { error: () => 'expected a non-empty queue name' })
    .refine((s) => Buffer.byteLength(s, 'utf8') <= CHANNEL_LIMITS.queueNameMaxLength, {
      error: () => `expected a queue name of at most ${CHANNEL_LIMITS.queueNameMaxLength} bytes`,
    })
    .refine((s) => !s.startsWith('amq.'), {
      error: (i) =>
        `expected a queue name not starting with "amq." (reserved by the broker); received ${describeValue(i.input)}`,
    })
    .refine((s) => !controlCharPattern.test(s), { error: () => 'expected a queue name without control characters' }),
  /** Optional: false when a new channel omits it (as the documented server binds a missing bool); an update that omits it keeps it. */
  includeImageData: formBoolean().optional(),
  ...deliveryOptions,
});
export type RabbitMqChannelRequest = z.output<typeof RabbitMqChannelRequest>;
export type RabbitMqChannelRequestInput = z.input<typeof RabbitMqChannelRequest>;

/**
 * Body of POST/PUT `/api/v1/Notification/ChannelConfiguration/SignalR` (a Herald addition: the
 * documents name the SignalR channel but give no endpoint for it). Pushes go to the application's
 * clients connected to Herald's hub; there is no destination to configure.
 */
export const SignalRChannelRequest = closedObject({
  isActive: formBoolean(),
  /** Optional: false when a new channel omits it (as the documented server binds a missing bool); an update that omits it keeps it. */
  includeImageData: formBoolean().optional(),
  ...deliveryOptions,
});
export type SignalRChannelRequest = z.output<typeof SignalRChannelRequest>;
export type SignalRChannelRequestInput = z.input<typeof SignalRChannelRequest>;
