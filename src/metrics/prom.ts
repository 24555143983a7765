// The MetricsSink on prom-client: one Registry per controller (two controllers in one process,
// as in tests, never share series), the default process metrics, and gauges read at scrape
// time from the running controller (MetricsSources), so nothing is counted twice.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { LabelCap } from './labels.js';
import type { MetricsSink } from './sink.js';
import { LIMIT_NAMES, type LimitName } from '../limits/types.js';

/** The per-account rate limits' tallies (README "Rate limits"), read at scrape time. */
export interface LimitSource {
  /** Requests refused, by the limit that refused them. */
  refusedBy: Readonly<Record<LimitName, number>>;
  /** Accounts suspended for sustained abuse of their limits. */
  suspensions: number;
  /** Requests over a rate held until their tokens were there (delay_ms), not refused. */
  delayed: number;
  /** Requests worked on now, and waiting in the fair queue. */
  active: number;
  queued: number;
}

export interface MetricsSources {
  linkUp(): boolean;
  accountsByState(): Record<string, number>;
  subscriptions(): number;
  outboxQueued(): number;
  bounces(): number;
  multicast(): { messages: number; copies: number; fallbacks: number };
  limits(): LimitSource;
}

export interface PromOptions {
  /** Distinct topic label values before the rest count as `_other` (default 100). */
  maxTopics?: number;
  /** Distinct IQ operation label values (default 60). */
  maxOperations?: number;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class PromMetrics implements MetricsSink {
  readonly registry = new Registry();
  private readonly topics: LabelCap;
  private readonly operations: LabelCap;
  private readonly inCount: Counter<'kind'>;
  private readonly outCount: Counter<'kind'>;
  private readonly iqSeconds: Histogram<'operation'>;
  private readonly publishes: Counter<'topic'>;
  private readonly deliveries: Counter<'topic'>;
  private readonly decisions: Counter<'effect' | 'operation'>;
  private readonly registrations: Counter<'outcome'>;
  private readonly fsyncSeconds: Histogram;

  constructor(src: MetricsSources, o: PromOptions = {}) {
    const registers = [this.registry];
    this.topics = new LabelCap(o.maxTopics ?? 100);
    this.operations = new LabelCap(o.maxOperations ?? 60);
    collectDefaultMetrics({ register: this.registry });
    this.inCount = new Counter({ name: 'grid_stanzas_in_total', help: 'Stanzas received, by kind', labelNames: ['kind'], registers });
    this.outCount = new Counter({ name: 'grid_stanzas_out_total', help: 'Stanzas written, by kind', labelNames: ['kind'], registers });
    this.iqSeconds = new Histogram({ name: 'grid_iq_duration_seconds', help: 'Time to answer an IQ get/set, by operation', labelNames: ['operation'], buckets: LATENCY_BUCKETS, registers });
    this.publishes = new Counter({ name: 'grid_publishes_total', help: `Items stored, by topic (at most ${this.topics.max} topics; the rest as _other)`, labelNames: ['topic'], registers });
    this.deliveries = new Counter({ name: 'grid_deliveries_total', help: 'Notifications queued for subscribers, by topic', labelNames: ['topic'], registers });
    this.decisions = new Counter({ name: 'grid_policy_decisions_total', help: 'Authorization decisions, by effect and operation', labelNames: ['effect', 'operation'], registers });
    this.registrations = new Counter({ name: 'grid_registrations_total', help: 'Registrations, by outcome (approved, pending, denied, revoked, refused)', labelNames: ['outcome'], registers });
    this.fsyncSeconds = new Histogram({ name: 'grid_store_fsync_seconds', help: 'Item store writes: write + fdatasync of a batch', buckets: LATENCY_BUCKETS, registers });
    pulledCounter(registers, 'grid_multicast_messages_total', 'XEP-0033 multicast messages sent', () => src.multicast().messages);
    pulledCounter(registers, 'grid_multicast_copies_total', 'Deliveries carried by multicast messages', () => src.multicast().copies);
    pulledCounter(registers, 'grid_multicast_fallbacks_total', 'Deliveries re-sent one by one after a refused multicast', () => src.multicast().fallbacks);
    pulledCounter(registers, 'grid_bounces_total', 'Notifications the server returned as errors (subscription kept)', () => src.bounces());
    // The label takes the limiter's fixed names only, so the series stay four whatever arrives.
    new Counter({
      name: 'grid_requests_refused_total', help: `Requests refused by an account's rate limits, by limit (${LIMIT_NAMES.join(', ')})`, labelNames: ['limit'], registers,
      collect() {
        this.reset();
        const by = src.limits().refusedBy;
        for (const limit of LIMIT_NAMES) this.inc({ limit }, by[limit]);
      },
    });
    pulledCounter(registers, 'grid_requests_delayed_total', 'Requests over an account\'s rate held until its tokens were there (delay_ms) instead of refused', () => src.limits().delayed);
    pulledCounter(registers, 'grid_rate_limit_suspensions_total', 'Accounts suspended for sustained abuse of their rate limits', () => src.limits().suspensions);
    new Gauge({ name: 'grid_requests_active', help: 'Requests of nodes being worked on now', registers, collect() { this.set(src.limits().active); } });
    new Gauge({ name: 'grid_requests_queued', help: 'Requests of nodes waiting in the fair queue (held over their rate included)', registers, collect() { this.set(src.limits().queued); } });
    new Gauge({ name: 'grid_xmpp_link_up', help: '1 while the component link to the XMPP server is up', registers, collect() { this.set(src.linkUp() ? 1 : 0); } });
    new Gauge({
      name: 'grid_accounts', help: 'Accounts, by effective state', labelNames: ['state'], registers,
      collect() {
        for (const [state, n] of Object.entries(src.accountsByState())) this.set({ state }, n);
      },
    });
    new Gauge({ name: 'grid_subscriptions', help: 'Subscriptions (plain and filtered)', registers, collect() { this.set(src.subscriptions()); } });
    new Gauge({ name: 'grid_outbox_queued', help: 'Deliveries queued and not yet written', registers, collect() { this.set(src.outboxQueued()); } });
  }

  stanzaIn(kind: string): void {
    this.inCount.inc({ kind });
  }

  stanzaOut(kind: string, n = 1): void {
    this.outCount.inc({ kind }, n);
  }

  iqHandled(operation: string, seconds: number): void {
    this.iqSeconds.observe({ operation: this.operations.label(operation) }, seconds);
  }

  published(topic: string): void {
    this.publishes.inc({ topic: this.topics.label(topic) });
  }

  delivered(topic: string, n: number): void {
    if (n > 0) this.deliveries.inc({ topic: this.topics.label(topic) }, n);
  }

  audit(event: string, f: Readonly<Record<string, unknown>>): void {
    if (event === 'authorization') {
      this.decisions.inc({ effect: String(f.effect), operation: this.operations.label(String(f.operation)) });
    } else if (event === 'registration') {
      this.registrations.inc({ outcome: f.result === 'refused' ? 'refused' : OUTCOMES.includes(String(f.status)) ? String(f.status) : 'other' });
    }
  }

  fsync(seconds: number): void {
    this.fsyncSeconds.observe(seconds);
  }
}

const OUTCOMES = ['approved', 'pending', 'denied', 'revoked'];

/** A counter whose value lives elsewhere (a controller's own tally), read at scrape time. */
function pulledCounter(registers: Registry[], name: string, help: string, read: () => number): void {
  new Counter({
    name, help, registers,
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
