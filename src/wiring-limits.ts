// Per-account limits wired in (README "Rate limits"): the limiter reads the policy's limits
// for the account's groups, the router enforces them before any work and schedules requests
// fairly, and sustained abuse suspends the account — the node and the administrators told.
import { isFail } from './result.js';
import type { Logger } from './log.js';
import type { AccountService } from './accounts/service.js';
import type { Account, AccountChange } from './accounts/types.js';
import type { PolicyWatcher } from './policy/index.js';
import { ADDRESS_KEY_PREFIX, ADDRESS_RATE_LIMITS, FairQueue, RateLimiter, limitsFor, type AbuseSummary } from './limits/index.js';
import type { Router } from './xmpp/router.js';
import type { Outbox } from './xmpp/outbox.js';
import { suspendedMessage } from './xmpp/limits.js';

/** Requests worked on at once and waiting, all accounts together. */
export const TOTAL_INFLIGHT = 512;
export const TOTAL_QUEUED = 20_000;
const SWEEP_MS = 5000;

export interface LimitsDeps {
  router: Router;
  accounts: AccountService;
  policy: PolicyWatcher;
  outbox: Outbox;
  domain: string;
  log: Logger;
}

export function wireLimits(d: LimitsDeps): { limiter: RateLimiter; queue: FairQueue; stop(): void } {
  const { accounts, policy, log } = d;
  const limiter = new RateLimiter({
    log,
    limitsOf: (bare) => {
      // HTTPS requests whose credentials failed, by source address (src/https/limits.ts).
      if (bare.startsWith(ADDRESS_KEY_PREFIX)) return { limits: ADDRESS_RATE_LIMITS, suspend: null };
      const p = policy.current();
      const a = accounts.get(bare);
      return { limits: limitsFor(p.limits, a?.groups ?? []), suspend: p.limits.suspend };
    },
    onAbuse: (bare, s) => void suspendForAbuse(bare, s),
  });
  const suspendForAbuse = async (bare: string, s: AbuseSummary) => {
    const by = Object.entries(s.by).map(([k, n]) => `${k} ${n}`).join(', ');
    const reason = s.rule === 'over_rate'
      ? `over its rate limits (requests held or refused) for ${s.over_rate_s} of the last ${s.within_s} s (refused lately: ${by || 'none'})`
      : `more than ${s.refused} requests refused by its rate limits within ${s.within_s} s (latest: ${by || 'none'})`;
    const a = accounts.get(bare);
    if (!a || a.status !== 'approved') {
      log.warn({ jid: bare, status: a?.status ?? 'none', reason }, 'sustained abuse of the rate limits by a JID without an approved account');
      return;
    }
    const r = await accounts.suspend(bare, 'auto:rate-limit', reason);
    if (isFail(r)) log.error({ jid: bare, err: r }, 'could not suspend an account');
  };
  const queue = new FairQueue({ total: TOTAL_INFLIGHT, maxQueuedTotal: TOTAL_QUEUED });
  d.router.setLimits(limiter, queue);

  accounts.on('suspended', (a: Account, reason: string) => {
    const admins = policy.current().admins;
    if (!admins.length) log.warn({ jid: a.jid }, 'an account was suspended and the policy names no admins');
    void d.outbox.send(admins.map((admin) => suspendedMessage(d.domain, admin, a, reason)));
  });
  // Lifted (or otherwise decided): the account starts with full buckets and a clean record.
  accounts.on('change', (c: AccountChange) => {
    if (c.previous?.status === 'suspended' || c.status === 'removed') limiter.forget(c.jid);
  });
  const timer = setInterval(() => limiter.sweep(), SWEEP_MS);
  timer.unref();
  return { limiter, queue, stop: () => clearInterval(timer) };
}
