// The XMPP protocol surfaces assembled: XEP-0060 + grid handlers, XEP-0050 commands, and
// the broadcast that turns the core's events into stanzas.
import type { Logger } from '../log.js';
import type { AccountService } from '../accounts/service.js';
import type { TopicService } from '../topics/service.js';
import type { ItemService } from '../topics/items.js';
import type { PolicyWatcher } from '../policy/index.js';
import type { PolicySubject } from '../policy/types.js';
import type { Router } from './router.js';
import type { Disco } from './handlers/disco.js';
import type { Outbox } from './outbox.js';
import type { Multicast } from './multicast.js';
import type { ItemStore } from '../store/types.js';
import { installCommands } from './handlers/commands.js';
import type { MetricsSink } from '../metrics/sink.js';
import { topicsSummary } from '../admin/topic-stats.js';
import { installPubsub } from './handlers/pubsub.js';
import { installGrid } from './handlers/grid.js';
import type { BulkGrants } from '../topics/bulk.js';
import { discoProvider } from './handlers/topics-disco.js';
import { installBroadcast } from './broadcast.js';
import type { ProcessFigures } from '../admin/process-stats.js';

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
  /** The controller process: memory, event-loop delay and GC pauses since the previous read. */
  processStats?: () => ProcessFigures;
  metrics: MetricsSink;
  log: Logger;
  /** §9 bulk grants, served by the TAXII door. */
  bulk?: BulkGrants;
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
export function controllerStats(d: { outbox: Outbox; multicast: Multicast; accounts: AccountService; topics: TopicService; itemStore: ItemStore; limitStats?: () => Record<string, number>; processStats?: () => ProcessFigures }) {
  return {
    sent: d.outbox.sent, failed: d.outbox.failed, bounced: d.outbox.bounced, oversized: d.outbox.oversized, ...multicastStats(d.multicast), ...d.limitStats?.(),
    accounts: d.accounts.list().length, topics: d.topics.allTopics().length, store: storeStats(d.itemStore),
    ...(d.processStats ? { process: d.processStats() } : {}),
  };
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
  installGrid(d.router, d.disco, { topics: d.topics, items: d.items, subjectOf: d.subjectOf, ...(d.bulk ? { bulk: d.bulk } : {}) });
  // Whatever the core broadcasts (from any door) becomes stanzas here.
  return installBroadcast({ events: d.items.events, domain: d.domain, outbox: d.outbox, multicast: d.multicast, metrics: d.metrics });
}
