/** The `code` of the error a guarded `lookup` / connector fails with. */
export const BLOCKED_DESTINATION_CODE = 'HERALD_BLOCKED_DESTINATION';

/**
 * A connection was refused by the destination policy. The message names only the host the caller
 * asked for, never the address it resolved to.
 */
export class BlockedDestinationError extends Error {
  override name = 'BlockedDestinationError';
  readonly code = BLOCKED_DESTINATION_CODE;
  readonly hostname: string;

  constructor(hostname: string) {
    super(`destination not allowed: ${hostname}`);
    this.hostname = hostname;
  }
}

/** True when `err` is (or carries the code of) a refusal by the destination policy. */
export function isBlockedDestinationError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === BLOCKED_DESTINATION_CODE;
}
