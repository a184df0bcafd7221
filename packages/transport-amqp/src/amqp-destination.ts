import { isIP } from 'node:net';

/** TLS material for an `amqps:` destination (PEM). `cert` and `key` go together (client certificate). */
export interface AmqpTlsOptions {
  /** CA bundle that signs the broker's certificate; replaces the default trust store when set. */
  ca?: string;
  cert?: string;
  key?: string;
}

/** Where one RabbitMQ channel delivers. Credentials travel beside the URL, never inside it. */
export interface AmqpDestination {
  /** `amqp[s]://host[:port][/vhost]`, without credentials (a URL with credentials is refused). */
  url: string;
  username: string;
  password: string;
  /** Declared durable and bound to every Herald routing key (unless topology assertion is off). */
  queueName?: string;
  tls?: AmqpTlsOptions;
  /** Declare exchange/queue/bindings before the first publish; false for pre-provisioned brokers. */
  assertTopology?: boolean;
}

/** The parsed, credential-free address of a broker. */
export interface AmqpTarget {
  protocol: 'amqp' | 'amqps';
  /** Host name or IP literal, without IPv6 brackets. */
  hostname: string;
  port: number;
  vhost: string;
  /** `host:port/vhost`, safe for logs and error texts. */
  label: string;
}

export type ParseAmqpUrlResult = { ok: true; target: AmqpTarget } | { ok: false; error: string };

/**
 * Parses `amqp[s]://host[:port][/vhost]`. The vhost is the percent-decoded path without its
 * leading slash (one trailing slash is dropped: the source document writes `amqp://localhost/Test/`);
 * an empty path means the default vhost `/`. Credentials, query strings and fragments are refused.
 */
export function parseAmqpUrl(url: string): ParseAmqpUrlResult {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, error: 'destination URL is not a valid URL; expected amqp[s]://host[:port][/vhost]' };
  }
  if (u.protocol !== 'amqp:' && u.protocol !== 'amqps:') {
    return { ok: false, error: `destination URL scheme must be amqp: or amqps:; received ${u.protocol}` };
  }
  if (u.username !== '' || u.password !== '') {
    return {
      ok: false,
      error: 'destination URL must not contain credentials; pass username and password as separate fields',
    };
  }
  if (u.search !== '' || u.hash !== '') {
    return { ok: false, error: 'destination URL must not contain a query string or fragment' };
  }
  const hostname = u.hostname.replace(/^\[|\]$/g, '');
  if (hostname === '') return { ok: false, error: 'destination URL has no host' };
  const protocol = u.protocol === 'amqps:' ? 'amqps' : 'amqp';
  const port = u.port === '' ? (protocol === 'amqps' ? 5671 : 5672) : Number(u.port);
  let path = u.pathname;
  if (path.length > 2 && path.endsWith('/')) path = path.slice(0, -1);
  let vhost: string;
  try {
    vhost = path === '' || path === '/' ? '/' : decodeURIComponent(path.slice(1));
  } catch {
    return { ok: false, error: 'destination URL has a malformed percent-encoded vhost' };
  }
  const hostPart = isIP(hostname) === 6 ? `[${hostname}]` : hostname;
  return { ok: true, target: { protocol, hostname, port, vhost, label: `${hostPart}:${port}/${vhost}` } };
}
