// Who hears what: account changes and policy reloads become core events (the doors turn
// them into messages, xmpp/broadcast.ts) and trigger the re-checks that keep subscriptions
// within policy (PROTOCOL §2, §5, §12).
import type { Logger } from './log.js';
import type { AccountService } from './accounts/service.js';
import type { AccountChange, Account } from './accounts/types.js';
import type { TopicService } from './topics/service.js';
import type { ItemService } from './topics/items.js';
import type { Broadcaster } from './topics/events.js';
import type { PolicyWatcher } from './policy/index.js';
import type { TrustWatcher } from './identity/trust-watch.js';
import type { RevocationSweep } from './accounts/revocation-sweep.js';
import { isSystemDecider } from './accounts/service.js';
import type { PolicyError } from './policy/types.js';
import { formatPolicyError, reportWidening, type Policy, type PolicySubject } from './policy/index.js';
import type { MetricsSink } from './metrics/sink.js';

export interface WiringDeps {
  accounts: AccountService;
  topics: TopicService;
  items: ItemService;
  policy: PolicyWatcher;
  /** CRLs reloaded → the sweep revokes the accounts they list. */
  trust?: TrustWatcher;
  sweep?: RevocationSweep;
  /** The core's broadcaster (items.events): the doors listen to it. */
  events: Broadcaster;
  metrics?: Pick<MetricsSink, 'published'>;
  /** The policy subject of an approved account, else null. */
  subjectOf: (bare: string) => PolicySubject | null;
  log: Logger;
}

export function wireEvents(d: WiringDeps): void {
  const { accounts, topics, items, policy, events, log } = d;
  // Serialise re-checks: a burst of changes must not interleave two passes over the state.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = (what: string, fn: () => Promise<unknown>) => {
    chain = chain.then(fn).catch((err) => log.error({ err }, `${what} failed`));
  };

  accounts.on('change', (c: AccountChange) => {
    // The controller revoked on its own (CRL, expiry): no administrator asked, so tell them.
    events.emit({ kind: 'account-changed', change: c, tellAdmins: isSystemDecider(c.by) ? policy.current().admins : [] });
    items.invalidate();
    d.sweep?.rearm(c.jid);
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
    events.emit({ kind: 'account-pending', account: a, admins });
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
  events.on((e) => {
    if (e.kind === 'published') d.metrics?.published(e.published.topic.name);
  });
}
