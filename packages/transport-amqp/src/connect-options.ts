import { isIP } from 'node:net';
import type { Options, SocketOptions } from 'amqplib';
import amqp from 'amqplib';
import type { AmqpTarget, AmqpTlsOptions } from './amqp-destination.ts';

export interface BuildConnectOptionsInput {
  target: AmqpTarget;
  username: string;
  password: string;
  tls?: AmqpTlsOptions | undefined;
  heartbeatSeconds: number;
  /** Socket inactivity limit during the handshake (amqplib clears it once open). */
  connectTimeoutMs: number;
  /** Guarded resolver (SSRF); only used for host names, Node skips it for IP literals. */
  lookup?: SocketOptions['lookup'];
  connectionName: string;
}

/**
 * The two amqplib connect arguments. Credentials go in as a SASL PLAIN object, never into a URL,
 * so any character in a password works and nothing needs escaping. TLS verification stays on.
 */
export function buildConnectOptions(input: BuildConnectOptionsInput): {
  connect: Options.Connect;
  socket: SocketOptions;
} {
  const { target, tls } = input;
  const secure = target.protocol === 'amqps';
  const socket: SocketOptions = {
    timeout: input.connectTimeoutMs,
    noDelay: false,
    credentials: amqp.credentials.plain(input.username, input.password),
    clientProperties: { connection_name: input.connectionName },
    ...(input.lookup !== undefined && isIP(target.hostname) === 0 ? { lookup: input.lookup } : {}),
    ...(secure && tls?.ca !== undefined ? { ca: tls.ca } : {}),
    ...(secure && tls?.cert !== undefined ? { cert: tls.cert } : {}),
    ...(secure && tls?.key !== undefined ? { key: tls.key } : {}),
  };
  return {
    connect: {
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      vhost: target.vhost,
      heartbeat: input.heartbeatSeconds,
    },
    socket,
  };
}
