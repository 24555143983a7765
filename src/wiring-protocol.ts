// The protocol surfaces assembled: XEP-0060 + grid handlers, XEP-0050 commands, the admin
// socket, and the delivery of published items.
import type { Element } from '@xmpp/xml';
import type { Config } from './config/types.js';
import type { Logger } from './log.js';
import type { AccountService } from './accounts/service.js';
import type { TopicService } from './topics/service.js';
import type { ItemService } from './topics/items.js';
import type { PolicyWatcher } from './policy/index.js';
import type { PolicySubject } from './policy/types.js';
import type { TopicEvent, Subscription } from './topics/types.js';
import type { Published } from './topics/items.js';
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
import type { EventStanzas } from './wiring.js';
import type { SeenBook } from './admin/seen.js';
import type { MetricsSink } from './metrics/sink.js';
import type { StatusBuilder } from './admin/status.js';
import { topicCarried } from './admin/topic-stats.js';
import { installPubsub } from './xmpp/handlers/pubsub.js';
import { installGrid } from './xmpp/handlers/grid.js';
import { discoProvider } from './xmpp/handlers/topics-disco.js';
import { makeNotifier, eventStanzas, retractMessages, purgeMessages } from './xmpp/handlers/notify.js';

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

export function installProtocol(d: ProtocolDeps): { notifier: EventStanzas } {
  const commands = installCommands(d.router, d.disco, d.accounts, {
    topics: async () => JSON.stringify(topicsSummary(d.topics, d.itemStore), null, 2),
    stats: async () => JSON.stringify(controllerStats(d)),
    reloadPolicy: () => reloadPolicy(d.policy),
    declaredGroups: () => Object.keys(d.policy.current().groups),
  });
  d.disco.setProvider(discoProvider({ topics: d.topics, items: d.items, subjectOf: d.subjectOf, domain: d.domain, commands }));
  const notifications = makeNotifier(d.domain);
  const pubsubDeps = {
    topics: d.topics, items: d.items, subjectOf: d.subjectOf, domain: d.domain,
    notificationsDrained: () => d.outbox.belowHighWater(),
    // The publish result has been answered (the item is stored); delivery follows in order.
    onPublished: (p: Published) => {
      const { stanzas, deliveries } = d.multicast.expand(notifications.fanouts(p));
      d.metrics.published(p.topic.name);
      d.metrics.delivered(p.topic.name, deliveries);
      void d.outbox.send(stanzas, deliveries);
    },
    onRetracted: (r: { node: string; itemId: string; subscriptions: Subscription[] }) => void d.outbox.send(retractMessages(d.domain, r.node, r.itemId, r.subscriptions)),
    onPurged: (r: { topic: string; subscriptions: Subscription[] }) => void d.outbox.send(purgeMessages(d.domain, r.topic, r.subscriptions)),
    // Subscribers hear of a deletion through the core's topic-deleted event; here the items go.
    onDeleted: (r: { topic: string }) => void d.itemStore.deleteTopic(r.topic).catch((err) => d.log.error({ err, topic: r.topic }, 'could not drop the items of a deleted topic')),
  };
  installPubsub(d.router, d.disco, pubsubDeps);
  installGrid(d.router, d.disco, { topics: d.topics, items: d.items, subjectOf: d.subjectOf });
  const events = eventStanzas(d.domain);
  const notifier: EventStanzas = { forEvent: (e: TopicEvent): Element[] => events.forEvent(e) };
  return { notifier };
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
