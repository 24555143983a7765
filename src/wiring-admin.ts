// The local admin socket assembled: account operations, topics, status, policy reload and
// the statistics (which include the XMPP door's queue and multicast counters).
import type { Config } from './config/types.js';
import type { Logger } from './log.js';
import type { AccountService } from './accounts/service.js';
import type { TopicService } from './topics/service.js';
import type { PolicyWatcher } from './policy/index.js';
import type { ItemStore } from './store/types.js';
import { ok, fail } from './result.js';
import { startAdminServer } from './admin/server.js';
import { accountOps } from './admin/ops.js';
import type { AdminOps } from './admin/types.js';
import type { SeenBook } from './admin/seen.js';
import type { StatusBuilder } from './admin/status.js';
import type { Outbox } from './xmpp/outbox.js';
import type { Multicast } from './xmpp/multicast.js';
import { controllerStats } from './xmpp/protocol.js';
import { topicsSummary } from './admin/topic-stats.js';
import type { ProcessFigures } from './admin/process-stats.js';

export interface AdminDeps {
  cfg: Config; accounts: AccountService; topics: TopicService; policy: PolicyWatcher; log: Logger; outbox: Outbox; multicast: Multicast;
  itemStore: ItemStore; seen: SeenBook; status: StatusBuilder;
  /** Rate-limit counters and the fair queue's load (README "Rate limits"). */
  limitStats?: () => Record<string, number>;
  /** The controller process (memory, event-loop delay, GC) since the previous read. */
  processStats?: () => ProcessFigures;
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
