// The vocabulary of per-account limits (README "Rate limits"): what an account may send per
// second, how much may wait for it, and when sustained abuse suspends it. Pure data.

/** One account's limits; every rate is a token bucket of `burst` tokens refilled at `per_s`. */
export interface RateLimits {
  /** Every IQ the account sends to the controller (publishes included), and every non-error message. */
  iq_per_s: number;
  iq_burst: number;
  /** XEP-0060 publishes. */
  publish_per_s: number;
  publish_burst: number;
  /** UTF-8 bytes of published payloads (as limits.payload_bytes counts them). */
  payload_bytes_per_s: number;
  payload_burst_bytes: number;
  /**
   * A request over a rate is held (in the account's own queue) until its tokens are there, if
   * that is at most this many milliseconds away; later than that it is refused at once. 0:
   * never held. Holding slows a node that waits for its answers down to its rate, so its
   * flood never reaches the server's shared component stream (bench "flood").
   */
  delay_ms: number;
  /** Requests of the account being worked on at once; more wait in its own queue. */
  inflight: number;
  /** Requests that may wait in that queue; beyond it: wait + resource-constraint. */
  queue: number;
}

export const RATE_KEYS = [
  'iq_per_s', 'iq_burst', 'publish_per_s', 'publish_burst', 'payload_bytes_per_s', 'payload_burst_bytes', 'delay_ms', 'inflight', 'queue',
] as const satisfies readonly (keyof RateLimits)[];

/**
 * Sustained abuse, either of: more than `violations` refused requests within `within_s`
 * seconds (a leaky bucket), or over its rate (requests held or refused) for `over_rate_s` of
 * the last `within_s` seconds. Holding slows a flooder to its rate without refusing it, so
 * the second is what catches a flooder that waits for its answers (src/limits/over-rate.ts).
 */
export interface SuspendRule {
  violations: number;
  within_s: number;
  over_rate_s: number;
}

/** over_rate_s when a policy leaves it out: 90 % of within_s. */
export const overRateDefault = (withinS: number): number => Math.max(1, Math.ceil(withinS * 0.9));

export interface LimitsPolicy {
  /** For every account (and every JID without one); groups raise or lower them key by key. */
  defaults: RateLimits;
  /** Group name → the keys it sets. */
  groups: Record<string, Partial<RateLimits>>;
  /** null: never suspend automatically. */
  suspend: SuspendRule | null;
}

/**
 * Built-in defaults: far above what an honest node sends (a node subscribes, queries and
 * publishes now and then; a busy provider publishes tens of items a second), far below what
 * one node flooding the controller sends (thousands a second).
 */
export const DEFAULT_RATE_LIMITS: Readonly<RateLimits> = Object.freeze({
  iq_per_s: 20, iq_burst: 20,
  publish_per_s: 10, publish_burst: 10,
  payload_bytes_per_s: 8 * 1024 * 1024, payload_burst_bytes: 32 * 1024 * 1024,
  delay_ms: 8000,
  inflight: 8, queue: 256,
});

/**
 * Requests whose credentials failed (HTTPS: no or bad certificate, bad token, account not
 * approved), per source address: never held, never suspended (there is no account).
 */
export const ADDRESS_RATE_LIMITS: Readonly<RateLimits> = Object.freeze({
  ...DEFAULT_RATE_LIMITS, iq_per_s: 10, iq_burst: 50, delay_ms: 0,
});

/** The limiter's key prefix for such requests: `address:<ip>`. */
export const ADDRESS_KEY_PREFIX = 'address:';

/**
 * About 50 refused requests a second kept up for a minute, or over its rate (held or refused)
 * for 54 s of a minute, suspends the account.
 */
export const DEFAULT_SUSPEND: Readonly<SuspendRule> = Object.freeze({ violations: 3000, within_s: 60, over_rate_s: 54 });

export const DEFAULT_LIMITS_POLICY: LimitsPolicy = { defaults: { ...DEFAULT_RATE_LIMITS }, groups: {}, suspend: { ...DEFAULT_SUSPEND } };

/** What one request asks of the account's buckets. */
export interface RequestCost {
  publish: boolean;
  /** Payload bytes of a publish; 0 otherwise. */
  payloadBytes: number;
}

/** Which limit refused a request. */
export type LimitName = 'iq' | 'publish' | 'payload_bytes' | 'queue';

export const LIMIT_NAMES = ['iq', 'publish', 'payload_bytes', 'queue'] as const satisfies readonly LimitName[];

/** What the controller counts (the `stats` command). */
export interface LimitCounters {
  /** Requests over a rate held until their tokens were there (delay_ms), then worked on. */
  delayed: number;
  /** Requests refused by a rate (policy-violation). */
  rate_limited: number;
  /** Requests refused because a queue was full (resource-constraint). */
  queue_full: number;
  /** Accounts suspended for sustained abuse. */
  suspensions: number;
}
