// Revocation that reaches accounts already approved: at start, whenever the CRLs change, and
// at each certificate's notAfter, every approved or pending account whose certificate is on a
// CRL or has expired is revoked through AccountService.revoke (the path `accounts revoke`
// takes), decided by `system:crl` or `system:expiry`. Its 'change' event does the rest:
// subscriptions end (XEP-0060 §8.8.4), the node and the administrators are told.
// In a cluster (§14) every instance watches the CRLs and the clock, so every instance sweeps:
// the sweeps take turns (`exclusive`, a PostgreSQL advisory lock) and each first catches up
// with the others (`sync`), so a revocation is decided — and announced — by one instance, once.
import { EventEmitter } from 'node:events';
import { isFail } from '../result.js';
import type { Logger } from '../log.js';
import type { Trust } from '../identity/types.js';
import { storedCertRevocation } from '../identity/crl.js';
import type { AccountService } from './service.js';
import type { Account } from './types.js';

/** setTimeout fires at once for delays above 2^31-1 ms (about 24.8 days): longer waits are re-armed. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const REAL_TIMERS: Timers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RevocationSweepDeps {
  accounts: AccountService;
  trust: () => Trust;
  log: Logger;
  now?: () => number;
  timers?: Timers;
  /** Catches up with the other instances' changes (a cluster). */
  sync?: () => Promise<void>;
  /** Runs `fn` while no other instance sweeps (a cluster); released when it settles. */
  exclusive?: <T>(fn: () => Promise<T>) => Promise<T>;
}

export interface SweepDone {
  why: string;
  /** Accounts this sweep revoked. */
  revoked: number;
}

/** Emits 'swept' (SweepDone) after each sweep. */
export class RevocationSweep extends EventEmitter {
  private timer: unknown;
  /** When the armed timer fires (ms since epoch), for tests and `status`. */
  armedFor: number | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly reported = new Set<string>();
  private stopped = false;

  constructor(private readonly d: RevocationSweepDeps) {
    super();
  }

  private now(): number {
    return this.d.now?.() ?? Date.now();
  }

  private get timers(): Timers {
    return this.d.timers ?? REAL_TIMERS;
  }

  /** Runs a sweep; sweeps run one after another. Resolves with how many accounts were revoked. */
  sweep(why: string): Promise<number> {
    const run = this.chain.then(() => this.sweepNow(why));
    this.chain = run.catch((err) => this.d.log.error({ err }, 'revocation sweep failed'));
    return run;
  }

  /**
   * An account changed: its certificate's notAfter may be the next one. With `jid`, only that
   * account is looked at (a registration costs O(1), not a pass over every account); a
   * timer that fires for an account no longer approved finds nothing and re-arms in full.
   */
  rearm(jid?: string): void {
    if (this.stopped) return;
    if (jid === undefined) return this.arm();
    const a = this.d.accounts.get(jid);
    if (!a || (a.status !== 'approved' && a.status !== 'pending')) return;
    const t = Date.parse(a.cert.notAfter);
    if (this.armedFor === undefined || t < this.armedFor) this.armAt(t);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.armedFor = undefined;
  }

  private async sweepNow(why: string): Promise<number> {
    const revoked = this.d.exclusive ? await this.d.exclusive(() => this.sweepAll(why)) : await this.sweepAll(why);
    this.emit('swept', { why, revoked } satisfies SweepDone);
    return revoked;
  }

  private async sweepAll(why: string): Promise<number> {
    await this.d.sync?.();
    const trust = this.d.trust();
    let revoked = 0;
    for (const a of this.d.accounts.list()) {
      if (this.stopped) break;
      if (a.status !== 'approved' && a.status !== 'pending') continue;
      const verdict = this.verdict(a, trust);
      if (!verdict) continue;
      const r = await this.d.accounts.revoke(a.jid, verdict.by, { reason: verdict.reason, fingerprint: a.cert.fingerprint });
      if (!isFail(r)) {
        revoked++;
        this.d.log.warn({ jid: a.jid, by: verdict.by, reason: verdict.reason, serial: a.cert.serial, sweep: why }, 'account revoked: its certificate is no longer valid');
      }
    }
    this.rearm();
    return revoked;
  }

  private verdict(a: Account, trust: Trust): { by: string; reason: string } | null {
    if (Date.parse(a.cert.notAfter) <= this.now()) return { by: 'system:expiry', reason: `the certificate expired on ${a.cert.notAfter}` };
    const r = storedCertRevocation(a.cert, trust);
    if (r.revoked) return { by: 'system:crl', reason: r.text };
    if (r.unverified) {
      const key = `${a.jid}\0${r.unverified}`;
      if (!this.reported.has(key)) {
        this.reported.add(key);
        this.d.log.error({ jid: a.jid, serial: a.cert.serial, reason: r.unverified }, 'a CRL lists this account\'s certificate but cannot be verified: the account is not revoked');
      }
    }
    return null;
  }

  /** One timer for the earliest notAfter still ahead among approved and pending accounts. */
  private arm(): void {
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.armedFor = undefined;
    let next = Infinity;
    for (const a of this.d.accounts.list()) {
      if (a.status !== 'approved' && a.status !== 'pending') continue;
      const t = Date.parse(a.cert.notAfter);
      if (t < next) next = t;
    }
    if (next !== Infinity) this.armAt(next);
  }

  private armAt(next: number): void {
    if (this.timer !== undefined) this.timers.clear(this.timer);
    const now = this.now();
    // An expiry already past (approved after its notAfter) is swept at once.
    const delay = Math.max(0, Math.min(next - now, MAX_TIMER_MS));
    this.armedFor = now + delay;
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      void this.sweep('expiry');
    }, delay);
  }
}
