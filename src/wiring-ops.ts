// The operator's view, assembled: the metrics (a sink the controller emits into, and the
// Prometheus endpoint when `metrics.listen` is set), who was heard from (SeenBook), and the
// `status` report. The sink must exist before the link and stores are built (they take it);
// what it reads at scrape time is attached once the controller's parts exist.
import type { Config } from './config/types.js';
import type { Logger } from './log.js';
import type { AccountService } from './accounts/service.js';
import type { TopicService } from './topics/service.js';
import type { PolicyWatcher } from './policy/index.js';
import type { ItemStore } from './store/types.js';
import type { ComponentLink } from './xmpp/component.js';
import type { Outbox } from './xmpp/outbox.js';
import type { Multicast } from './xmpp/multicast.js';
import type { Element } from '@xmpp/xml';
import { bareJid } from './jid.js';
import type { FairQueue, RateLimiter } from './limits/index.js';
import { NO_METRICS, type MetricsSink } from './metrics/sink.js';
import { PromMetrics } from './metrics/prom.js';
import { startMetricsServer, type MetricsServer } from './metrics/server.js';
import { SeenBook } from './admin/seen.js';
import { AuditRing } from './admin/audit-ring.js';
import { StatusBuilder } from './admin/status.js';
import { packageVersion } from './agent/version.js';
import type { AccountStatus } from './accounts/types.js';

export interface ControllerParts {
  link: ComponentLink;
  accounts: AccountService;
  topics: TopicService;
  itemStore: ItemStore;
  policy: PolicyWatcher;
  outbox: Outbox;
  multicast: Multicast;
  limits: { limiter: RateLimiter; queue: FairQueue };
}

export class Operations {
  readonly sink: MetricsSink;
  readonly seen = new SeenBook();
  /** The latest audit events, for the web console. */
  readonly audit = new AuditRing();
  private readonly prom: PromMetrics | null;
  private parts: ControllerParts | undefined;
  private server: MetricsServer | undefined;
  private statusBuilder: StatusBuilder | undefined;
  private readonly startedAt = new Date();
  /** The TAXII door's discovery URL once the HTTPS server listens (set by main.ts). */
  taxiiUrl: string | null = null;

  constructor(private readonly cfg: Config, private readonly log: Logger) {
    this.prom = cfg.metrics.listen ? new PromMetrics({
      linkUp: () => this.p.link.online,
      accountsByState: () => this.accountsByState(),
      subscriptions: () => this.topicCounts().subscriptions,
      outboxQueued: () => this.p.outbox.queued,
      bounces: () => this.p.outbox.bounced,
      multicast: () => this.p.multicast,
      limits: () => {
        const { limiter, queue } = this.p.limits;
        return { refusedBy: limiter.refusedBy, suspensions: limiter.counters.suspensions, delayed: limiter.counters.delayed, active: queue.load.active, queued: queue.load.queued + queue.load.held };
      },
    }) : null;
    this.sink = this.prom ?? NO_METRICS;
  }

  /** Every audit event as it is logged (log.ts tapAudit): counted, and kept in the ring. */
  audited(event: string, fields: Readonly<Record<string, unknown>>): void {
    this.sink.audit(event, fields);
    this.audit.add(event, fields);
  }

  private get p(): ControllerParts {
    if (!this.parts) throw new Error('operations read before the controller was assembled');
    return this.parts;
  }

  /** Called once the parts exist: feeds the SeenBook and builds the status report's sources. */
  attach(parts: ControllerParts): StatusBuilder {
    this.parts = parts;
    parts.link.xmpp.on('stanza', (st: Element) => this.observe(st));
    parts.accounts.on('change', (c: { jid: string; status: string }) => {
      if (c.status === 'removed') this.seen.forget(c.jid);
    });
    const status = new StatusBuilder({
      version: packageVersion(),
      startedAt: this.startedAt,
      link: () => ({ online: parts.link.online, reconnecting: parts.link.reconnectPending, service: this.cfg.xmpp.service, domain: this.cfg.xmpp.domain }),
      multicast: () => {
        const hosts = parts.multicast.offeringHosts();
        return { mode: this.cfg.xmpp.multicast, in_use: hosts.length > 0, hosts, messages: parts.multicast.messages, copies: parts.multicast.copies, fallbacks: parts.multicast.fallbacks };
      },
      taxiiUrl: () => this.taxiiUrl,
      metricsUrl: () => this.server?.url ?? null,
      accounts: () => parts.accounts.list().map((a) => ({ ...a, effective: parts.accounts.effectiveStatus(a) })),
      online: () => this.seen.onlineCount((jid) => parts.accounts.get(jid) !== undefined),
      topics: () => this.topicCounts(),
      itemsStored: () => parts.topics.allTopics().reduce((n, t) => n + parts.itemStore.list(t.name).length, 0),
      policy: () => parts.policy.current(),
    });
    parts.policy.on('change', () => status.reloaded({ ok: true }));
    parts.policy.on('rejected', (errors) => status.reloaded({ ok: false, errors }));
    this.statusBuilder = status;
    return status;
  }

  async startServer(): Promise<void> {
    if (!this.prom) return;
    this.server = await startMetricsServer(this.cfg.metrics.listen, this.prom, () => this.p.link.online, this.log.child({ mod: 'metrics' }));
  }

  get metricsUrl(): string | null {
    return this.server?.url ?? null;
  }

  get status(): StatusBuilder {
    if (!this.statusBuilder) throw new Error('status before attach');
    return this.statusBuilder;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  /** Stanzas from nodes stamp "last seen"; an unavailable presence or a bounce says "gone". */
  private observe(st: Element): void {
    const from = st.attrs.from;
    if (!from || !from.includes('@')) return; // the server itself, other components
    const bare = bareJid(from);
    if ((st.name === 'presence' && st.attrs.type === 'unavailable') || st.attrs.type === 'error') this.seen.gone(bare);
    else this.seen.heard(bare);
  }

  private accountsByState(): Record<AccountStatus, number> {
    const n: Record<AccountStatus, number> = { pending: 0, approved: 0, denied: 0, revoked: 0, suspended: 0 };
    for (const a of this.p.accounts.list()) n[this.p.accounts.effectiveStatus(a)]++;
    return n;
  }

  private topicCounts(): { topics: number; subtopics: number; subscriptions: number } {
    const all = this.p.topics.allTopics();
    let subtopics = 0;
    let subscriptions = 0;
    for (const t of all) {
      subtopics += this.p.topics.subtopics(t.name).length;
      subscriptions += this.p.topics.subscriptionsOf(t.name).length;
    }
    return { topics: all.length, subtopics, subscriptions };
  }
}
