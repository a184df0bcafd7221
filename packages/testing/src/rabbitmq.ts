import { AMQP_URL, RABBITMQ_MANAGEMENT_URL, ServiceUnavailableError } from './env.ts';
import { uniqueName } from './unique-name.ts';

export interface TestVhost extends AsyncDisposable {
  readonly name: string;
  /** AMQP URL (with the configured credentials) that opens this vhost. */
  readonly url: string;
  readonly username: string;
  readonly password: string;
  /** Host and port of the broker, for tests that pass credentials separately. */
  readonly hostname: string;
  readonly port: number;
  drop(): Promise<void>;
}

interface ManagementTarget {
  base: string;
  authorization: string;
}

function managementTarget(): ManagementTarget {
  const u = new URL(RABBITMQ_MANAGEMENT_URL);
  const auth = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64');
  u.username = '';
  u.password = '';
  return { base: u.toString().replace(/\/$/, ''), authorization: `Basic ${auth}` };
}

/** Calls the RabbitMQ management HTTP API; throws with the status and body when it does not answer 2xx. */
export async function rabbitManagement(method: string, path: string, body?: unknown): Promise<unknown> {
  const t = managementTarget();
  let res: Response;
  try {
    res = await fetch(`${t.base}/api${path}`, {
      method,
      headers: { authorization: t.authorization, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new ServiceUnavailableError(
      'RabbitMQ management API',
      RABBITMQ_MANAGEMENT_URL,
      'RABBITMQ_MANAGEMENT_URL',
      err,
    );
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`RabbitMQ management ${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Creates a vhost for one test, grants the AMQP_URL user full rights on it; `drop()` deletes it. */
export async function createTestVhost(prefix = 'herald_test'): Promise<TestVhost> {
  const name = uniqueName(prefix);
  const amqp = new URL(AMQP_URL);
  const username = decodeURIComponent(amqp.username || 'guest');
  const password = decodeURIComponent(amqp.password || 'guest');
  const vhostPath = `/vhosts/${encodeURIComponent(name)}`;
  await rabbitManagement('PUT', vhostPath, {});
  await rabbitManagement('PUT', `/permissions/${encodeURIComponent(name)}/${encodeURIComponent(username)}`, {
    configure: '.*',
    write: '.*',
    read: '.*',
  });
  amqp.pathname = `/${encodeURIComponent(name)}`;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await rabbitManagement('DELETE', vhostPath);
  };
  return {
    name,
    url: amqp.toString(),
    username,
    password,
    hostname: amqp.hostname,
    port: Number(amqp.port || 5672),
    drop,
    [Symbol.asyncDispose]: drop,
  };
}

/** Creates a broker user with the given password and full rights on `vhost`; returns a remover. */
export async function createTestUser(vhost: string, username: string, password: string): Promise<() => Promise<void>> {
  await rabbitManagement('PUT', `/users/${encodeURIComponent(username)}`, { password, tags: '' });
  await rabbitManagement('PUT', `/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(username)}`, {
    configure: '.*',
    write: '.*',
    read: '.*',
  });
  return async () => {
    await rabbitManagement('DELETE', `/users/${encodeURIComponent(username)}`);
  };
}
