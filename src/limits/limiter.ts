// Per-account rate limits (README "Rate limits"): token buckets for IQs, publishes and
// payload bytes; refused requests counted and logged once per account per interval, never
// per stanza; sustained refusals (a leaky bucket of the policy's `suspend` rule) reported
// once, so the caller can suspend the account. Pure of XMPP; the clock is injected.
import type { Logger } from '../log.js';
import { audit } from '../log.js';
import { fail, type Fail } from '../result.js';
import { TokenBucket } from './bucket.js';
import { OverRate } from './over-rate.js';
import { LIMIT_NAMES, type LimitCounters, type LimitName, type RateLimits, type RequestCost, type SuspendRule } from './types.js';

/** Seconds between two log lines about one account. */
export const LOG_INTERVAL_MS = 10_000;

export interface LimiterDeps {
  /** The limits and suspension rule that apply to a bare JID now. */
  limitsOf: (bare: string) => { limits: Readonly<RateLimits>; suspend: Readonly<SuspendRule> | null };
  /** Called once when an account's refusals exceed the suspension rule. */
  onAbuse: (bare: string, summary: AbuseSummary) => void;
  log: Logger;
  now?: () => number;
}

export interface AbuseSummary {
  /** Which rule it broke: too many refusals, or over its rate for too long (held or refused). */
  rule: 'violations' | 'over_rate';
  refused: number;
  within_s: number;
  /** Seconds over its rate within the window, when that is the rule it broke. */
  over_rate_s?: number;
  /** Which limits refused its requests since the last log line. */
  by: Partial<Record<LimitName, number>>;
}

interface Lane {
  limits: Readonly<RateLimits>;
  iq: TokenBucket;
  publish: TokenBucket;
  bytes: TokenBucket;
  suspend: Readonly<SuspendRule> | null;
  abuse: TokenBucket | null;
  /** Time over the rate (held or refused) within the suspension window. */
  over: OverRate | null;
  /** Refusals not yet logged. */
  pending: Partial<Record<LimitName, number>>;
  pendingTotal: number;
  lastLog: number;
  reported: boolean;
}

export class RateLimiter {
  private readonly lanes = new Map<string, Lane>();
  private readonly now: () => number;
  readonly counters: LimitCounters = { delayed: 0, rate_limited: 0, queue_full: 0, suspensions: 0 };
  /** Refused requests by the limit that refused them (a fixed set: the metrics' label values). */
  readonly refusedBy = Object.fromEntries(LIMIT_NAMES.map((n) => [n, 0])) as Record<LimitName, number>;

  constructor(private readonly d: LimiterDeps) {
    this.now = d.now ?? (() => Date.now());
  }

  /**
   * null: within the account's rates now (the tokens are taken). A number: the milliseconds
   * the request must be held before it is worked on (its tokens are borrowed; at most the
   * account's delay_ms; `hold: false` never holds). Else the refusal to answer.
   */
  admit(bare: string, cost: RequestCost, opts: { hold?: boolean } = {}): Fail | number | null {
    const lane = this.lane(bare);
    const l = lane.limits;
    const maxWait = opts.hold === false ? 0 : l.delay_ms;
    // Every bucket the request takes from, with the wait for its tokens; all are checked before
    // any is taken: a refused request costs the account nothing.
    const asks: [LimitName, TokenBucket, number][] = [['iq', lane.iq, 1]];
    if (cost.publish) {
      asks.push(['publish', lane.publish, 1]);
      if (cost.payloadBytes > 0) asks.push(['payload_bytes', lane.bytes, cost.payloadBytes]);
    }
    let refused: LimitName | null = null;
    let waitMs = 0;
    for (const [name, bucket, n] of asks) {
      const w = bucket.waitMs(n);
      if (w > maxWait) [refused, waitMs] = [name, w];
      if (refused) break;
      waitMs = Math.max(waitMs, w);
    }
    if (!refused) {
      for (const [, bucket, n] of asks) bucket.borrow(n);
      if (waitMs === 0) return null;
      this.counters.delayed++;
      this.overRate(bare, lane, waitMs);
      return waitMs;
    }
    this.counters.rate_limited++;
    this.refused(bare, lane, refused);
    this.overRate(bare, lane, waitMs);
    const text = refused === 'iq' ? `at most ${l.iq_per_s} requests a second (burst ${l.iq_burst})`
      : refused === 'publish' ? `at most ${l.publish_per_s} publishes a second (burst ${l.publish_burst})`
        : `at most ${l.payload_bytes_per_s} payload bytes a second (burst ${l.payload_burst_bytes})`;
    const retry = Number.isFinite(waitMs) ? `; retry in ${waitMs} ms` : '';
    return fail('rate-limited', `rate limit for ${bare}: ${text}${retry}`);
  }

  /** Counts a request refused because the account's queue (or the controller's) was full. */
  queueFull(bare: string): Fail {
    this.counters.queue_full++;
    this.refused(bare, this.lane(bare), 'queue');
    return fail('queue-full', `too many requests of ${bare} are waiting: retry when answers have come back`);
  }

  /** The account's current limits (the router's in-flight bound and queue length). */
  limitsOf(bare: string): Readonly<RateLimits> {
    return this.lane(bare).limits;
  }

  /** Forgets an account's state: after an administrator lifted its suspension, it starts afresh. */
  forget(bare: string): void {
    this.lanes.delete(bare);
  }

  /** Logs what is pending and drops lanes that hold nothing (full buckets): call every few seconds. */
  sweep(): void {
    const t = this.now();
    for (const [bare, lane] of this.lanes) {
      if (lane.pendingTotal && t - lane.lastLog >= LOG_INTERVAL_MS) this.flush(bare, lane, t);
      if (!lane.pendingTotal && !lane.reported && lane.iq.full() && lane.publish.full() && lane.bytes.full() && (lane.abuse?.full() ?? true) &&
        (lane.over?.overMs(t) ?? 0) === 0) {
        this.lanes.delete(bare);
      }
    }
  }

  get size(): number {
    return this.lanes.size;
  }

  private refused(bare: string, lane: Lane, what: LimitName): void {
    this.refusedBy[what]++;
    lane.pending[what] = (lane.pending[what] ?? 0) + 1;
    lane.pendingTotal++;
    const t = this.now();
    if (t - lane.lastLog >= LOG_INTERVAL_MS) this.flush(bare, lane, t);
    if (lane.abuse && !lane.reported && !lane.abuse.take(1)) {
      const s = lane.suspend!;
      this.report(bare, lane, { rule: 'violations', refused: s.violations, within_s: s.within_s, by: { ...lane.pending } });
    }
  }

  /** A request held or refused: the account is over its rate for `waitMs` from now. */
  private overRate(bare: string, lane: Lane, waitMs: number): void {
    if (!lane.over || lane.reported) return;
    const t = this.now();
    lane.over.mark(t, waitMs);
    const s = lane.suspend!;
    const overMs = lane.over.overMs(t);
    if (overMs >= s.over_rate_s * 1000) {
      this.report(bare, lane, { rule: 'over_rate', refused: lane.pendingTotal, within_s: s.within_s, over_rate_s: Math.floor(overMs / 1000), by: { ...lane.pending } });
    }
  }

  private report(bare: string, lane: Lane, summary: AbuseSummary): void {
    lane.reported = true;
    this.counters.suspensions++;
    this.d.onAbuse(bare, summary);
  }

  private flush(bare: string, lane: Lane, t: number): void {
    const since = Number.isFinite(lane.lastLog) ? Math.round((t - lane.lastLog) / 1000) : 0;
    audit(this.d.log, 'rate-limit', { jid: bare, refused: lane.pendingTotal, by: lane.pending, since_s: since, limits: lane.limits }, 'warn');
    lane.pending = {};
    lane.pendingTotal = 0;
    lane.lastLog = t;
  }

  private lane(bare: string): Lane {
    const { limits, suspend } = this.d.limitsOf(bare);
    let lane = this.lanes.get(bare);
    if (!lane) {
      lane = {
        limits, suspend,
        iq: new TokenBucket(limits.iq_per_s, limits.iq_burst, this.now),
        publish: new TokenBucket(limits.publish_per_s, limits.publish_burst, this.now),
        bytes: new TokenBucket(limits.payload_bytes_per_s, limits.payload_burst_bytes, this.now),
        abuse: suspend ? new TokenBucket(suspend.violations / suspend.within_s, suspend.violations, this.now) : null,
        over: suspend ? new OverRate(suspend.within_s) : null,
        pending: {}, pendingTotal: 0, lastLog: -Infinity, reported: false,
      };
      this.lanes.set(bare, lane);
      return lane;
    }
    if (lane.limits !== limits) {
      lane.iq.configure(limits.iq_per_s, limits.iq_burst);
      lane.publish.configure(limits.publish_per_s, limits.publish_burst);
      lane.bytes.configure(limits.payload_bytes_per_s, limits.payload_burst_bytes);
      lane.limits = limits;
    }
    if (lane.suspend !== suspend) {
      lane.suspend = suspend;
      if (!suspend) [lane.abuse, lane.over] = [null, null];
      else {
        if (lane.abuse) lane.abuse.configure(suspend.violations / suspend.within_s, suspend.violations);
        else lane.abuse = new TokenBucket(suspend.violations / suspend.within_s, suspend.violations, this.now);
        if (lane.over) lane.over.resize(suspend.within_s);
        else lane.over = new OverRate(suspend.within_s);
      }
    }
    return lane;
  }
}
