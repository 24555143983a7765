// Who hears what: account changes, policy reloads and topic events become stanzas, and
// trigger the re-checks that keep subscriptions within policy (PROTOCOL §2, §5, §12).
import type { Logger } from './log.js';
import type { AccountService } from './accounts/service.js';
import type { AccountChange, Account } from './accounts/types.js';
import type { TopicService } from './topics/service.js';
import type { ItemService } from './topics/items.js';
import type { TopicEvent } from './topics/types.js';
import type { PolicyWatcher } from './policy/index.js';
import type { TrustWatcher } from './identity/trust-watch.js';
import type { RevocationSweep } from './accounts/revocation-sweep.js';
import { isSystemDecider } from './accounts/service.js';
import type { PolicyError } from './policy/types.js';
import { formatPolicyError, reportWidening, type Policy, type PolicySubject } from './policy/index.js';
import { accountMessage, pendingMessage, systemDecisionMessage } from './xmpp/handlers/register.js';
import type { Outbox } from './xmpp/outbox.js';
import type { Element } from '@xmpp/xml';

/** What the protocol layer offers for turning topic events into stanzas. */
export interface EventStanzas {
  forEvent(e: TopicEvent): Element[];
}

export interface WiringDeps {
  accounts: AccountService;
  topics: TopicService;
  items: ItemService;
  policy: PolicyWatcher;
  /** CRLs reloaded → the sweep revokes the accounts they list. */
  trust?: TrustWatcher;
  sweep?: RevocationSweep;
  outbox: Outbox;
  notifier: EventStanzas;
  /** The policy subject of an approved account, else null. */
  subjectOf: (bare: string) => PolicySubject | null;
  domain: string;
  log: Logger;
}

export function wireEvents(d: WiringDeps): void {
  const { accounts, topics, items, policy, outbox, log } = d;
  // Serialise re-checks: a burst of changes must not interleave two passes over the state.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = (what: string, fn: () => Promise<unknown>) => {
    chain = chain.then(fn).catch((err) => log.error({ err }, `${what} failed`));
  };

  accounts.on('change', (c: AccountChange) => {
    void outbox.send(accountMessage(d.domain, c));
    items.invalidate();
    d.sweep?.rearm(c.jid);
    // The controller revoked on its own (CRL, expiry): no administrator asked, so tell them.
    if (isSystemDecider(c.by)) void outbox.send(policy.current().admins.map((admin) => systemDecisionMessage(d.domain, admin, c)));
    serial('account re-check', async () => {
      if (c.status === 'removed') await topics.forget(c.jid);
      else {
        const n = await topics.recheck(c.jid);
        if (n) log.info({ jid: c.jid, ended: n }, 'subscriptions ended after an account change');
      }
    });
  });
  accounts.on('pending', (a: Account) => {
    const admins = policy.current().admins;
    if (!admins.length) log.warn({ jid: a.jid }, 'an account waits for approval and the policy names no admins');
    void outbox.send(admins.map((admin) => pendingMessage(d.domain, admin, a)));
  });
  policy.on('change', (p: Policy, previous: Policy) => {
    items.invalidate();
    serial('policy re-check', async () => {
      await topics.applyDeclaredTopics(p.topics);
      const n = await topics.recheck();
      log.info({ files: p.files, rules: p.rules.length, ended_subscriptions: n }, 'policy reloaded');
      // A reload that opens anything up for an existing account is said loudly, with the rules.
      const subjects = accounts.list('approved').map((a) => d.subjectOf(a.jid)).filter((s): s is PolicySubject => s !== null);
      await reportWidening(log, previous, p, subjects, topics.allTopics().map((t) => t.name));
    });
  });
  policy.on('rejected', (errors: PolicyError[]) => {
    log.error({ errors: errors.map(formatPolicyError) }, 'policy change rejected; the last good policy stays in force');
  });
  d.trust?.on('change', () => {
    if (d.sweep) void d.sweep.sweep('crl change');
  });
  topics.on('event', (e: TopicEvent) => {
    void outbox.send(d.notifier.forEvent(e));
  });
}
