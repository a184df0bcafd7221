import { connect } from 'amqplib';
import type { ReadinessCheck } from './app-types.ts';

/**
 * A readiness check that the operator's RabbitMQ answers (`HERALD_READY_AMQP_URL`): it opens a connection and
 * closes it. The answer is reused for `cacheMs` and concurrent probes share one attempt, so a busy /readyz does
 * not turn into a connection storm; a broker that does not answer within `timeoutMs` is not ready.
 */
export function createBrokerReadiness(
  url: string,
  options: { timeoutMs?: number; cacheMs?: number; now?: () => number } = {},
): ReadinessCheck {
  const timeoutMs = options.timeoutMs ?? 2000;
  const cacheMs = options.cacheMs ?? 5000;
  const now = options.now ?? Date.now;
  let last: { at: number; ok: boolean } | null = null;
  let probing: Promise<boolean> | null = null;

  const probe = async (): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const attempt = connect(url, { timeout: timeoutMs });
    try {
      const connection = await Promise.race([
        attempt,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
        }),
      ]);
      await connection.close().catch(() => undefined);
      return true;
    } catch {
      // A connection that arrives after the timeout is closed, not leaked.
      attempt.then((late) => late.close().catch(() => undefined)).catch(() => undefined);
      return false;
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    name: 'broker',
    check() {
      if (last !== null && now() - last.at < cacheMs) return Promise.resolve(last.ok);
      probing ??= probe().then((ok) => {
        last = { at: now(), ok };
        probing = null;
        return ok;
      });
      return probing;
    },
  };
}
