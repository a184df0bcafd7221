export type RateLimitResult = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface RateLimiter {
  /** Takes one token from `key`'s bucket; `perSecond` overrides the default refill rate for this key. */
  take(key: string, perSecond?: number | null): RateLimitResult;
  /** True when `key`'s bucket has no whole token left (takes nothing). */
  isEmpty(key: string): boolean;
}

export interface RateLimiterOptions {
  /** Tokens added per second (the sustained rate). */
  perSecond: number;
  /** Bucket size (the burst); default `perSecond`. */
  burst?: number;
  /** Buckets kept at most; the least recently used are dropped beyond this. */
  maxKeys?: number;
  now?: () => number;
}

/** An in-memory token bucket per key (per application). One process's view: see docs/operations.md. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  if (!(options.perSecond > 0)) throw new RangeError('perSecond must be positive');
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 100_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    isEmpty(key) {
      const bucket = buckets.get(key);
      if (bucket === undefined) return false;
      const burst = options.burst ?? options.perSecond;
      return Math.min(burst, bucket.tokens + (Math.max(0, now() - bucket.at) / 1000) * options.perSecond) < 1;
    },
    take(key, perSecondOverride) {
      const rate = perSecondOverride != null && perSecondOverride > 0 ? perSecondOverride : options.perSecond;
      const burst = perSecondOverride != null && perSecondOverride > 0 ? perSecondOverride : (options.burst ?? rate);
      const t = now();
      const bucket = buckets.get(key) ?? { tokens: burst, at: t };
      buckets.delete(key);
      bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, t - bucket.at) / 1000) * rate);
      bucket.at = t;
      buckets.set(key, bucket);
      if (buckets.size > maxKeys) {
        const oldest = buckets.keys().next();
        if (!oldest.done) buckets.delete(oldest.value);
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / rate)) };
    },
  };
}
