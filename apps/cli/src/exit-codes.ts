/** Exit codes of `herald` (documented in docs/cli.md). */
export const EXIT_CODES = {
  ok: 0,
  /** Anything else went wrong (API error, network, invalid input found by the API). */
  failure: 1,
  /** Bad flags or arguments. */
  usage: 2,
  notFound: 3,
  /** Missing or rejected credentials. */
  auth: 4,
  /** `send --wait`: a delivery ended dead (or failed for good). */
  deliveryDead: 5,
  /** `send --wait`: still not delivered when --timeout passed. */
  timeout: 6,
} as const;
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];
