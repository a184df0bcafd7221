import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AuthConfigError } from './auth-config-error.ts';

/** Default cap on a push body read for signature checks. */
export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

/**
 * Reads the raw body under a size cap (hono's `bodyLimit`, which also stops chunked bodies
 * without a Content-Length), then calls `use` with it; 413 when the body is too large. The body
 * stays readable by later handlers.
 */
export function createRawBodyReader(
  maxBodyBytes: number = DEFAULT_MAX_BODY_BYTES,
): (c: Context, use: (body: Uint8Array) => Promise<Response | undefined>) => Promise<Response | undefined> {
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new AuthConfigError('invalid_option', `maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);
  }
  const limit = bodyLimit({ maxSize: maxBodyBytes, onError: (c) => c.body(null, 413) });
  return async (c, use) => {
    let answer: Response | undefined;
    const limited = await limit(c, async () => {
      answer = await use(new Uint8Array(await c.req.arrayBuffer()));
    });
    return limited ?? answer;
  };
}
