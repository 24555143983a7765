// The protocol surfaces assembled: XEP-0060 + grid handlers, XEP-0050 commands, the admin
// socket, and the delivery of published items.
import type { Config } from './config/types.js';
import type { Logger } from './log.js';
import type { AccountService } from './accounts/service.js';
import type { TopicService } from './topics/service.js';
import type { ItemService } from './topics/items.js';
import type { PolicyWatcher } from './policy/index.js';
import type { PolicySubject } from './policy/types.js';
import { ok, fail } from './result.js';
import type { Router } from './xmpp/router.js';
import type { Disco } from './xmpp/handlers/disco.js';
import type { Outbox } from './xmpp/outbox.js';
import type { Multicast } from './xmpp/multicast.js';
import type { ItemStore } from './store/types.js';
import { installCommands } from './xmpp/handlers/commands.js';
import { startAdminServer } from './admin/server.js';
import { accountOps } from './admin/ops.js';
import type { AdminOps } from './admin/types.js';
import type { SeenBook } from './admin/seen.js';
import type { MetricsSink } from './metrics/sink.js';
import type { StatusBuilder } from './admin/status.js';
import { topicCarried } from './admin/topic-stats.js';
import { installPubsub } from './xmpp/handlers/pubsub.js';
import { installGrid } from './xmpp/handlers/grid.js';
import { discoProvider } from './xmpp/handlers/topics-disco.js';
import { installBroadcast } from './xmpp/broadcast.js';

export interface ProtocolDeps {
  router: Router;
  disco: Disco;
  accounts: AccountService;
  topics: TopicService;
  items: ItemService;
  policy: PolicyWatcher;
  subjectOf: (bare: string) => PolicySubject | null;
  domain: string;
  outbox: Outbox;
  multicast: Multicast;
  itemStore: ItemStore;
  /** Rate-limit counters and the fair queue's load (README "Rate limits"). */
  limitStats?: () => Record<string, number>;
  metrics: MetricsSink;
  log: Logger;
}

function multicastStats(m: Multicast) {
  return { multicast_messages: m.messages, multicast_copies: m.copies, multicast_fallbacks: m.fallbacks };
}

/** What the item store has to tell an operator: damage found (loudly), torn tails cut, the cache. */
function storeStats(items: ItemStore) {
  const st = items.stats();
  return { items_damaged: st.damage?.length ?? 0, damage: st.damage ?? [], torn_tails: st.truncated, cache: st.cache };
}

/** One statistics document for XEP-0050 #stats and the admin socket. */
function controllerStats(d: { outbox: Outbox; multicast: Multicast; accounts: AccountService; topics: TopicService; itemStore: ItemStore; limitStats?: () => Record<string, number> }) {
  return {
    sent: d.outbox.sent, failed: d.outbox.failed, bounced: d.outbox.bounced, oversized: d.outbox.oversized, ...multicastStats(d.multicast), ...d.limitStats?.(),
    accounts: d.accounts.list().length, topics: d.topics.allTopics().length, store: storeStats(d.itemStore),
  };
}

export function topicsSummary(topics: TopicService, items?: Pick<ItemStore, 'list'>) {
  return topics.allTopics().map((t) => ({
    name: t.name, content_type: t.contentType, filtering: t.filtering, source: t.source,
    publishers: t.publishers, subscribers: topics.subscriptionsOf(t.name).length,
    subtopics: topics.subtopics(t.name).map((s) => ({ node: s.node, subscribers: s.subscribers, filter: s.filter })),
    ...(items ? topicCarried(items, t.name) : {}),
  }));
}

async function reloadPolicy(policy: PolicyWatcher): Promise<string> {
  const r = await policy.reloadNow();
  return r.ok ? `policy reloaded: ${r.policy.files.length} files, ${r.policy.rules.length} rules` : `policy rejected: ${r.errors.map((e) => `${e.file}:${e.line ?? '?'}: ${e.message}`).join('; ')}`;
}

/** Installs the handlers and the broadcast; returns the broadcast's unsubscribe. */
export function installProtocol(d: ProtocolDeps): () => void {
  const commands = installCommands(d.router, d.disco, d.accounts, {
    topics: async () => JSON.stringify(topicsSummary(d.topics, d.itemStore), null, 2),
    stats: async () => JSON.stringify(controllerStats(d)),
    reloadPolicy: () => reloadPolicy(d.policy),
    declaredGroups: () => Object.keys(d.policy.current().groups),
  });
  d.disco.setProvider(discoProvider({ topics: d.topics, items: d.items, subjectOf: d.subjectOf, domain: d.domain, commands }));
  installPubsub(d.router, d.disco, { topics: d.topics, items: d.items, subjectOf: d.subjectOf, domain: d.domain });
  installGrid(d.router, d.disco, { topics: d.topics, items: d.items, subjectOf: d.subjectOf });
  // Whatever the core broadcasts (from any door) becomes stanzas here.
  return installBroadcast({ events: d.items.events, domain: d.domain, outbox: d.outbox, multicast: d.multicast, metrics: d.metrics });
}

export interface AdminDeps {
  cfg: Config; accounts: AccountService; topics: TopicService; policy: PolicyWatcher; log: Logger; outbox: Outbox; multicast: Multicast;
  itemStore: ItemStore; seen: SeenBook; status: StatusBuilder;
  /** Rate-limit counters and the fair queue's load (README "Rate limits"). */
  limitStats?: () => Record<string, number>;
}

export async function startAdmin(d: AdminDeps) {
  const ops: AdminOps = {
    ...accountOps(d.accounts, 'cli', { seen: d.seen, acceptOperator: true }),
    'topics.list': async () => ok(topicsSummary(d.topics, d.itemStore)),
    status: async () => ok(d.status.report()),
    'policy.reload': async () => {
      const r = await d.policy.reloadNow();
      return r.ok ? ok({ files: r.policy.files, rules: r.policy.rules.length }) : fail('bad-request', r.errors.map((e) => `${e.file}:${e.line ?? '?'}: ${e.message}`).join('; '));
    },
    stats: async () => ok(controllerStats(d)),
  };
  return startAdminServer({ socketPath: d.cfg.admin.socket, ops, log: d.log.child({ mod: 'admin' }) });
}
