// The account registry: registration (PROTOCOL §2), the approval gate (§1) and the
// administrator's operations (§10). Pure of XMPP: every method takes the acting JID
// explicitly and returns a Result; notifications leave through the 'change' event.
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import { audit } from '../log.js';
import { bareJid } from '../jid.js';
import type { PolicySubject } from '../policy/types.js';
import { subjectOfAccount } from './subject.js';
import { fail, ok, type Fail, type Result, isFail } from '../result.js';
import type { ControlStore } from '../store/types.js';
import type { RegistrationInput, RegistrationResult, Trust } from '../identity/types.js';
import { ChallengeBook, type Challenges } from './challenges.js';
import { hashToken, newToken, tokenMatches } from './tokens.js';
import type { Account, AccountChange, AccountPolicy, AccountsState, AccountStatus, Submission } from './types.js';

export interface AccountServiceDeps {
  store: ControlStore<AccountsState>;
  policy: AccountPolicy;
  trust: () => Trust;
  verify: (input: RegistrationInput) => RegistrationResult;
  log: Logger;
  now?: () => Date;
  challenges?: Challenges;
  /** A cluster (§14): catch up with the other instances' changes (a registration just made on another). */
  sync?: () => Promise<void>;
}

export const EMPTY_ACCOUNTS: AccountsState = { version: 1, accounts: {} };

export class AccountService extends EventEmitter {
  private readonly challenges: Challenges;
  private readonly now: () => Date;

  constructor(private readonly d: AccountServiceDeps) {
    super();
    this.now = d.now ?? (() => new Date());
    this.challenges = d.challenges ?? new ChallengeBook(300_000, () => this.now().getTime());
  }

  get(jid: string): Account | undefined {
    const accounts = this.d.store.data.accounts;
    const key = bareJid(jid);
    return Object.hasOwn(accounts, key) ? accounts[key] : undefined; // never Object.prototype members
  }

  list(status?: AccountStatus): Account[] {
    return Object.values(this.d.store.data.accounts)
      .filter((a) => !status || this.effectiveStatus(a) === status)
      .sort((a, b) => a.jid.localeCompare(b.jid));
  }

  /** An approved account whose certificate has expired counts as revoked until it registers again. */
  effectiveStatus(a: Account): AccountStatus {
    if (a.status === 'approved' && Date.parse(a.cert.notAfter) <= this.now().getTime()) return 'revoked';
    return a.status;
  }

  /** PROTOCOL §1: null when the JID may use the grid, else the error to answer. */
  gate(jid: string): Fail | null {
    const a = this.get(jid);
    if (!a) return fail('registration-required');
    switch (this.effectiveStatus(a)) {
      case 'approved':
        return null;
      case 'pending':
        return fail('account-pending', 'the account waits for approval');
      case 'suspended':
        return fail('account-suspended', 'the account is suspended for sustained abuse of the rate limits: an administrator may lift it');
      default:
        return fail('account-revoked', a.status === 'approved' ? 'the certificate has expired: register again' : `the account is ${a.status}`);
    }
  }

  /**
   * The policy subject of an approved account (the gate lets it through), else null: what
   * every door decides with (subject(jid) → policy), whichever way the JID was proven.
   */
  subject(jid: string): PolicySubject | null {
    if (this.gate(jid)) return null;
    return subjectOfAccount(this.get(jid)!);
  }

  /**
   * An administrator is named in the policy AND holds an approved account whose registration
   * proved that JID with the certificate's xmppAddr. The name alone is not enough: a server may
   * let a certificate without xmppAddr log in as any JID it asks for (ejabberd 23.01: README,
   * "ejabberd"), so a JID on the stream proves nothing by itself.
   */
  isAdmin(jid: string): boolean {
    return this.adminRefusal(jid) === undefined;
  }

  /** adminRefusal for one command stage, audited (it is an authorization decision). */
  checkAdmin(jid: string, command: string | undefined): string | undefined {
    const refusal = this.adminRefusal(jid);
    audit(this.d.log, 'admin-command', { jid: bareJid(jid), command, result: refusal ? 'refused' : 'permitted', ...(refusal ? { reason: refusal } : {}) });
    return refusal;
  }

  /** Why `jid` is not an administrator, or undefined when it is. */
  adminRefusal(jid: string): string | undefined {
    const bare = bareJid(jid);
    if (!this.d.policy.admins().map(bareJid).includes(bare)) return 'only administrators named in the policy may run commands';
    const a = this.get(bare);
    if (!a || this.effectiveStatus(a) !== 'approved') return `${bare} is named an administrator but holds no approved account: register it (with an xmppAddr certificate) and approve it`;
    if (a.cert.xmppAddr !== true) return `${bare} is named an administrator but its account was not registered with an xmppAddr certificate for that JID`;
    return undefined;
  }

  challenge(jid: string): string {
    return this.challenges.issue(bareJid(jid));
  }

  /** A challenge to hand out, once it is stored where every instance can check it (§14). */
  async challengeStored(jid: string): Promise<string> {
    const nonce = this.challenges.issue(bareJid(jid));
    // The form also shows the account's state: as stored, whichever instance wrote it.
    await Promise.all([this.challenges.stored?.(nonce), this.d.sync?.()]);
    return nonce;
  }

  private readonly registering = new Map<string, Promise<unknown>>();

  /** §2, steps 1–6, in that order; submissions of one JID are taken one after the other. */
  async register(jid: string, sub: Submission): Promise<Result<Account>> {
    const bare = bareJid(jid);
    const prev = this.registering.get(bare) ?? Promise.resolve();
    const run = prev.then(() => this.registerNow(bare, sub));
    const settled = run.catch(() => undefined);
    this.registering.set(bare, settled);
    void settled.then(() => {
      if (this.registering.get(bare) === settled) this.registering.delete(bare);
    });
    return run;
  }

  private async registerNow(jid: string, sub: Submission): Promise<Result<Account>> {
    const bare = bareJid(jid);
    const refuse = (f: Fail): Fail => {
      audit(this.d.log, 'registration', { jid: bare, result: 'refused', code: f.fail, reason: f.text });
      return f;
    };
    const c = await this.challenges.consume(sub.challenge, bare);
    if (c !== 'ok') return refuse(fail('challenge-invalid', `challenge ${c === 'other-jid' ? 'was issued to another JID' : c}`));
    const v = this.d.verify({ certificatePem: sub.certificatePem, challenge: sub.challenge, signature: sub.signature, bareJid: bare, trust: this.d.trust(), now: this.now() });
    if (isFail(v)) return refuse(v);
    const vc = v.value;
    const t = this.now().toISOString();
    const prev = this.get(bare);
    const cert: Account['cert'] = {
      fingerprint: vc.fingerprint, serial: vc.serial, subject: vc.subject, issuer: vc.issuer, notBefore: vc.notBefore, notAfter: vc.notAfter, keyType: vc.keyType,
      ...(vc.issuerKey ? { issuerKey: vc.issuerKey } : {}), ...(vc.issuerSpki ? { issuerSpki: vc.issuerSpki } : {}),
      xmppAddr: vc.xmppAddrs.some((a) => bareJid(a) === bare),
    };
    const auto = this.d.policy.autoApprove({ issuer: cert.issuer, subject: cert.subject, deviceType: sub.deviceType, requestedGroups: sub.groups });
    let status: AccountStatus;
    let groups: string[] = [];
    let decidedBy = 'registration';
    let reason: string;
    // A revocation for the certificate's sake (CRL, expiry) ends with that certificate: a new
    // one that verifies is judged like a first registration.
    const certRevoked = prev?.status === 'revoked' && isSystemDecider(prev.decidedBy) && prev.cert.fingerprint !== cert.fingerprint;
    if (prev && !certRevoked && (prev.status === 'denied' || prev.status === 'revoked' || prev.status === 'suspended')) {
      // An administrator's "no" (or a suspension) is not undone by registering again.
      status = prev.status;
      if (prev.status === 'suspended') groups = prev.groups; // given back when the suspension is lifted
      reason = `re-registration keeps the ${prev.status} state`;
      decidedBy = prev.decidedBy;
    } else if (prev && !certRevoked && prev.status === 'approved' && sameName(prev.cert, cert)) {
      status = 'approved';
      groups = prev.groups;
      decidedBy = prev.decidedBy;
      reason = 'same certificate subject and issuer: stays approved';
    } else if (auto) {
      status = 'approved';
      groups = auto.groups;
      decidedBy = `auto:${auto.id}`;
      reason = `auto-approval entry ${auto.id} matched`;
    } else {
      status = 'pending';
      reason = prev ? 'certificate subject or issuer changed: waits for approval again' : 'no auto-approval entry matched: waits for an administrator';
    }
    const account: Account = {
      jid: bare, status, groups, requestedGroups: uniq(sub.groups), deviceType: sub.deviceType, description: sub.description, cert,
      createdAt: prev?.createdAt ?? t, updatedAt: t,
      decidedBy, decidedAt: decidedBy === prev?.decidedBy ? prev.decidedAt : t,
    };
    await this.d.store.update((s) => {
      s.accounts[bare] = account;
    });
    audit(this.d.log, 'registration', { jid: bare, result: 'accepted', status, groups, by: decidedBy, reason, fingerprint: cert.fingerprint, serial: cert.serial, issuer: cert.issuer, device_type: sub.deviceType });
    this.announce(account, prev, decidedBy, reason);
    if (status === 'pending') this.emit('pending', account);
    return ok(account);
  }

  async approve(jid: string, by: string, groups?: string[]): Promise<Result<Account>> {
    return this.decide(jid, by, (a) => {
      const declared = this.d.policy.declaredGroups();
      const chosen = groups ?? a.requestedGroups.filter((g) => declared.includes(g));
      const unknown = chosen.filter((g) => !declared.includes(g));
      if (unknown.length) return fail('bad-request', `groups not declared in the policy: ${unknown.join(', ')}`);
      return { status: 'approved', groups: uniq(chosen) };
    });
  }

  deny(jid: string, by: string): Promise<Result<Account>> {
    return this.decide(jid, by, () => ({ status: 'denied', groups: [] }));
  }

  /**
   * `fingerprint`: revoke only while the account still holds that certificate (the system's
   * revocations for a CRL or an expiry must not hit a certificate registered meanwhile).
   */
  revoke(jid: string, by: string, opts: { reason?: string; fingerprint?: string } = {}): Promise<Result<Account>> {
    return this.decide(jid, by, (a) => {
      if (opts.fingerprint && a.cert.fingerprint !== opts.fingerprint) return fail('conflict', 'the account registered another certificate meanwhile');
      return { status: 'revoked', groups: [] };
    }, opts.reason);
  }

  setGroups(jid: string, by: string, groups: string[]): Promise<Result<Account>> {
    return this.decide(jid, by, (a) => {
      if (a.status !== 'approved') return fail('not-acceptable', `the account is ${a.status}: approve it (with groups) instead`);
      const declared = this.d.policy.declaredGroups();
      const unknown = groups.filter((g) => !declared.includes(g));
      if (unknown.length) return fail('bad-request', `groups not declared in the policy: ${unknown.join(', ')}`);
      return { status: 'approved', groups: uniq(groups) };
    });
  }

  /**
   * Disables an approved account (sustained abuse of the rate limits). Its groups are kept
   * so that lifting the suspension gives them back; the gate answers it like a revoked one.
   */
  async suspend(jid: string, by: string, reason: string): Promise<Result<Account>> {
    const r = await this.decide(jid, by, (a) => (a.status === 'approved' ? { status: 'suspended', groups: a.groups } : fail('not-acceptable', `the account is ${a.status}, not approved`)), reason);
    if (!isFail(r)) this.emit('suspended', r.value, reason);
    return r;
  }

  /** Lifts a suspension: the account is approved again with the groups it had. */
  unsuspend(jid: string, by: string): Promise<Result<Account>> {
    return this.decide(jid, by, (a) => (a.status === 'suspended' ? { status: 'approved', groups: a.groups } : fail('not-acceptable', `the account is ${a.status}, not suspended`)), 'suspension lifted');
  }

  async remove(jid: string, by: string): Promise<Result<null>> {
    const bare = bareJid(jid);
    const prev = this.get(bare);
    if (!prev) return fail('item-not-found', `no account ${bare}`);
    await this.d.store.update((s) => {
      delete s.accounts[bare];
    });
    audit(this.d.log, 'account-change', { jid: bare, from: prev.status, to: 'removed', by });
    this.emit('change', { jid: bare, status: 'removed', groups: [], previous: { status: prev.status, groups: prev.groups }, by, reason: 'removed' } satisfies AccountChange);
    return ok(null);
  }

  private async decide(jid: string, by: string, next: (a: Account) => { status: AccountStatus; groups: string[] } | Fail, reason = 'administrator decision'): Promise<Result<Account>> {
    const bare = bareJid(jid);
    const prev = this.get(bare);
    if (!prev) return fail('item-not-found', `no account ${bare}`);
    const n = next(prev);
    if (isFail(n)) return n;
    const t = this.now().toISOString();
    const account: Account = { ...prev, status: n.status, groups: n.groups, updatedAt: t, decidedBy: by, decidedAt: t };
    await this.d.store.update((s) => {
      s.accounts[bare] = account;
    });
    audit(this.d.log, 'account-change', { jid: bare, from: prev.status, to: n.status, groups: n.groups, previous_groups: prev.groups, by, reason });
    this.announce(account, prev, by, reason);
    return ok(account);
  }

  /**
   * PROTOCOL §13: a new HTTP Basic token for `jid` (replacing any old one). The token is
   * returned once and stored only hashed. Audited as an account change.
   */
  async issueToken(jid: string, by: string): Promise<Result<string>> {
    const bare = bareJid(jid);
    if (!this.get(bare)) return fail('item-not-found', `no account ${bare}`);
    const token = newToken();
    const createdAt = this.now().toISOString();
    await this.d.store.update((s) => {
      const a = s.accounts[bare];
      if (a) a.token = { sha256: hashToken(token), createdAt };
    });
    audit(this.d.log, 'account-token', { jid: bare, action: 'issued', by });
    return ok(token);
  }

  /** Ends `jid`'s token; item-not-found when the account or its token does not exist. */
  async revokeToken(jid: string, by: string): Promise<Result<null>> {
    const bare = bareJid(jid);
    const a = this.get(bare);
    if (!a) return fail('item-not-found', `no account ${bare}`);
    if (!a.token) return fail('item-not-found', `${bare} holds no token`);
    await this.d.store.update((s) => {
      delete s.accounts[bare]?.token;
    });
    audit(this.d.log, 'account-token', { jid: bare, action: 'revoked', by });
    return ok(null);
  }

  /** True when `token` is `jid`'s current token (whatever the account's status: the gate decides that). */
  checkToken(jid: string, token: string): boolean {
    return tokenMatches(this.get(jid)?.token, token);
  }

  private announce(a: Account, prev: Account | undefined, by: string, reason: string): void {
    if (prev && prev.status === a.status && sameList(prev.groups, a.groups)) return;
    const change: AccountChange = { jid: a.jid, status: a.status, groups: a.groups, by, reason, ...(prev ? { previous: { status: prev.status, groups: prev.groups } } : {}) };
    this.emit('change', change);
  }
}

/** Deciders that are the controller itself (`system:crl`, `system:expiry`), not a person or a policy entry. */
export function isSystemDecider(by: string): boolean {
  return by.startsWith('system:');
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs.map((x) => x.trim()).filter(Boolean))].sort();
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameName(a: Account['cert'], b: Account['cert']): boolean {
  const eq = (x: Record<string, string>, y: Record<string, string>) => JSON.stringify(Object.entries(x).sort()) === JSON.stringify(Object.entries(y).sort());
  return eq(a.subject, b.subject) && eq(a.issuer, b.issuer);
}
