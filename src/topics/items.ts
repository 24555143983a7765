// Publish, retract, purge, configure, items retrieval and the filtered query (PROTOCOL §5,
// §7), and the delivery plan: who gets which cut of a published item. A publish resolves only
// after the item is durably stored (the item store fsyncs before it answers); then the service
// broadcasts it (events.ts), so whichever door it came through, every subscriber hears.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { audit } from '../log.js';
import { ownString } from '../own-string.js';
import { Slice } from './slice.js';
import { PublishClock } from './publish-clock.js';
import { checkQuery, type QueryRequest } from './query.js';
import { fail, isFail, ok, type Result } from '../result.js';
import type { ItemStore, StoredItem } from '../store/types.js';
import type { PolicySubject } from '../policy/types.js';
import type { ParsedStix, XmlCodec } from '../payloads/types.js';
import { parseStixPayload, validateContent, checkPayloadSize, STIX_CONTENT_TYPE } from '../payloads/index.js';
import { XmlPayload } from '../payloads/xml-cut.js';
import { parseFilter } from '../filters/parse.js';
import { cutStix, makePredicate } from '../filters/cut.js';
import type { Filter } from '../filters/types.js';
import type { TopicService } from './service.js';
import { storageNameProblem } from './config.js';
import { KeyedSerial } from './serial.js';
import type { TlpCap, Delivery, PublishInput, Subscription, Topic, TopicConfig, TopicEvent } from './types.js';
import { Broadcaster, type Published } from './events.js';

export type { Published } from './events.js';

export interface ItemServiceDeps {
  topics: TopicService;
  items: ItemStore;
  subject: (bareJid: string) => PolicySubject | null;
  /** Until when (ms since epoch) an account may be delivered to: its certificate's notAfter. */
  approvedUntil?: (bareJid: string) => number;
  payloadLimit: () => number;
  /** Parses and writes stored XML payloads for their TLP cut (the XMPP layer's ltx). */
  xml: XmlCodec;
  log: Logger;
  now?: () => Date;
  /** Where the service says what happened; the doors listen. Default: a new one (`items.events`). */
  events?: Broadcaster;
  /**
   * A cluster (§14): before a read of stored items, wait until every item acknowledged by any
   * instance before the read began is in this instance's view (src/store/pg/notify.ts sync).
   */
  beforeRead?: () => Promise<void>;
}

export interface QueryPage {
  items: { item: StoredItem; payload: string }[];
  count: number;
  truncated: boolean;
}

export class ItemService {
  /**
   * owner \0 topic → cap of the rule that permits the subscription, and until when (the
   * certificate's notAfter: an expiry changes nothing else); cleared on any change.
   */
  private readonly capCache = new Map<string, { cap: TlpCap | null; until: number }>();

  /** Delivery planning runs in publish order per topic (see publish). */
  private readonly planning = new KeyedSerial();

  /** What happened, for the doors: published, retracted, purged, configured, and the topic service's events. */
  readonly events: Broadcaster;

  /** PROTOCOL §13: published strictly increasing per node, ≥ 1 µs per object. */
  private readonly clock: PublishClock;

  constructor(private readonly d: ItemServiceDeps) {
    this.clock = new PublishClock(d.items);
    this.events = d.events ?? new Broadcaster(d.log);
    d.topics.on('event', (e: TopicEvent) => {
      // A deleted topic's items go with it: a topic created again under the same name (perhaps
      // with another content type) must not show them.
      if (e.kind === 'topic-deleted') {
        void this.d.items.deleteTopic(e.topic).catch((err) => this.d.log.error({ err, topic: e.topic }, 'could not drop the items of a deleted topic'));
      }
      this.events.emit(e);
    });
  }

  /** Policy or account changed: decisions must be taken again. */
  invalidate(): void {
    this.capCache.clear();
  }

  /** limits.payload_bytes: a door may refuse a payload whose text alone is larger before serialising it. */
  payloadLimit(): number {
    return this.d.payloadLimit();
  }

  /**
   * Publishes one item: check, validate, store, plan the deliveries, broadcast. The answer
   * comes once the item is stored; the `published` event carries the deliveries.
   */
  async publish(subject: PolicySubject, node: string, itemId: string | undefined, input: PublishInput): Promise<Result<Published>> {
    const a = this.d.topics.check(subject, 'publish', node);
    if (isFail(a)) return a;
    if (a.subtopic && a.topic.filtering !== 'publisher') {
      return fail('not-allowed', `topic ${a.topic.name} is filtered by the controller: publish to the topic node`);
    }
    // A policy-declared topic can carry a name the item store cannot hold: refuse, never throw.
    const unstorable = storageNameProblem(node);
    if (unstorable) return fail('not-acceptable', unstorable);
    const tooBig = checkPayloadSize(input.bytes ?? Buffer.byteLength(input.text, 'utf8'), this.d.payloadLimit());
    if (tooBig) return tooBig;
    // Backpressure: while earlier notifications still wait for a door's socket, this publish
    // waits too (Broadcaster.hold).
    await this.events.drained();
    const v = validateContent(a.topic.contentType, input, { ...(a.topic.payloadNamespace ? { payloadNamespace: a.topic.payloadNamespace } : {}), xml: this.d.xml });
    if (isFail(v)) {
      audit(this.d.log, 'publish-refused', { jid: subject.jid, topic: node, reason: v.text });
      return v;
    }
    const stix = v.value.stix;
    const id = itemId ? ownString(itemId) : randomUUID(); // kept in the index: never a slice of the publish stanza
    let stored: StoredItem;
    try {
      stored = await this.d.items.append(node, {
        id, publisher: subject.jid, payload: stix ? stix.text : input.text,
        published: this.clock.stamp(node, this.d.now?.() ?? new Date(), stix ? stix.objects.length : 1),
      }, a.topic.maxItems);
    } catch (err) {
      // The store refused the write (PostgreSQL unreachable, a disk error): nothing was stored,
      // and the publisher is told so plainly — never an acknowledgement for a lost item.
      this.d.log.error({ err, topic: node, item: id }, 'publish not stored: the item store failed');
      return fail('internal', `the item was not stored: the item store is unavailable (${(err as Error).message}); publish it again later`);
    }
    // The topic was deleted while the item was being written (found by the race test): the
    // item must not outlive it, nor reappear in a topic later created with the same name.
    if (this.d.topics.topic(a.topic.name)?.createdAt !== a.topic.createdAt) {
      await this.d.items.retract(node, id);
      return fail('item-not-found', `topic ${a.topic.name} was deleted`);
    }
    // Planned in publish order per topic: planning yields to the event loop, and the
    // notifications of a later item must not overtake those of an earlier one.
    const deliveries = await this.planning.run(a.topic.name, () => this.plan(a.topic, node, stored, stix));
    this.d.log.debug({ jid: subject.jid, topic: node, item: id, seq: stored.seq, deliveries: deliveries.length }, 'published');
    const published: Published = { topic: a.topic, node, item: stored, deliveries };
    this.events.emit({ kind: 'published', published });
    return ok(published);
  }

  /**
   * Who receives what. One cut per distinct (subtopic, cap): recipients that share a cutKey
   * share the payload string, so a fan-out to N subscribers costs one cut per group.
   */
  async plan(topic: Topic, node: string, item: StoredItem, stix?: ParsedStix): Promise<Delivery[]> {
    const isSub = node !== topic.name;
    const all = this.d.topics.subscriptionsOf(topic.name);
    const subs = all.filter((s) => isSub ? s.subtopic === node : s.subtopic === null || topic.filtering === 'controller');
    const perJid = new Map<string, number>();
    for (const s of all) perJid.set(s.jid, (perJid.get(s.jid) ?? 0) + 1);
    const cuts = new Map<string, string | null>();
    const stored = this.payloadOf(topic, item.payload, stix);
    const out: Delivery[] = [];
    const now = this.d.now?.().getTime() ?? Date.now();
    // Objects × subtopics cuts: a large bundle on a topic with many subtopics takes seconds.
    const slice = new Slice();
    for (const s of subs) {
      await slice.turn();
      // Defence in depth: only an account approved now is delivered to, whatever the
      // subscription table still says (the re-check that ends it may not have run yet).
      const cap = this.capFor(s, now);
      if (cap === null) continue; // no longer permitted: recheck ends it
      const filter = isSub ? null : s.filter;
      const cutKey = `${filter ? s.subtopic : '-'}|${cap.maxTlp ?? ''}|${cap.unmarked ?? ''}`;
      let payload = cuts.get(cutKey);
      if (payload === undefined) {
        payload = this.cut(topic, stored, filter, cap);
        cuts.set(cutKey, payload);
      }
      if (payload === null) continue;
      out.push({ subscription: s, cutKey, payload, needsSubId: (perJid.get(s.jid) ?? 0) > 1 });
    }
    return out;
  }

  private capFor(s: Subscription, now: number): TlpCap | null {
    const key = `${s.owner}\0${s.topic}`;
    const hit = this.capCache.get(key);
    if (hit !== undefined && now < hit.until) return hit.cap;
    const subject = this.d.subject(s.owner);
    const d = subject ? this.d.topics.auth.decide(subject, 'subscribe', s.topic) : null;
    const cap = d && d.effect === 'permit' ? { ...(d.maxTlp ? { maxTlp: d.maxTlp } : {}), ...(d.unmarked ? { unmarked: d.unmarked } : {}) } : null;
    this.capCache.set(key, { cap, until: cap && this.d.approvedUntil ? this.d.approvedUntil(s.owner) : Infinity });
    return cap;
  }

  /** True when the cut for a filter and a cap is the stored payload itself (nothing to read but the text). */
  private uncut(topic: Topic, filter: Filter | null, cap: TlpCap): boolean {
    // XML payloads take no filter; only a TLP cap cuts them.
    return (topic.contentType !== STIX_CONTENT_TYPE || !filter) && !cap.maxTlp && cap.unmarked !== 'deny';
  }

  /** A stored payload as the cut needs it: the text, with whatever is already parsed. */
  private payloadOf(topic: Topic, text: string, stix?: ParsedStix): StoredPayload {
    return topic.contentType === STIX_CONTENT_TYPE ? { text, ...(stix ? { stix } : {}) } : { text, xml: new XmlPayload(text, this.d.xml) };
  }

  /**
   * The payload text for a filter and a cap; null when nothing is left. The one place both
   * notifications (plan) and answers (items, query) are cut: STIX 2.1 per object by filter
   * and cap, XML payloads by cap per content type (payloads/xml-cut.ts).
   */
  private cut(topic: Topic, p: StoredPayload, filter: Filter | null, cap: TlpCap): string | null {
    if (p.xml) return p.xml.cut(topic.contentType, cap);
    if (this.uncut(topic, filter, cap)) return p.text;
    const parsed = p.stix ?? parseStored(p.text);
    if (!parsed) return null;
    return cutStix(parsed, makePredicate(filter, cap, topic.filterFields))?.json ?? null;
  }

  /** XEP-0060 §8.2: new settings; a lowered max_items trims the stored history at once. */
  async configure(subject: PolicySubject, node: string, patch: Partial<TopicConfig>): Promise<Result<Topic>> {
    const r = await this.d.topics.configure(subject, node, patch);
    if (isFail(r)) return r;
    const trimmed = patch.maxItems !== undefined ? await this.d.items.trim(r.value.name, r.value.maxItems) : 0;
    this.events.emit({ kind: 'configured', topic: r.value, trimmed });
    return r;
  }

  /** XEP-0060 §7.2; `notify`: the subscribers hear of it (the `retracted` event says so). */
  async retract(subject: PolicySubject, node: string, id: string, o: { notify?: boolean } = {}): Promise<Result<{ topic: Topic; subscriptions: Subscription[] }>> {
    const a = this.d.topics.check(subject, 'publish', node);
    if (isFail(a)) return a;
    if (!(await this.d.items.retract(node, id))) return fail('item-not-found', `no item ${id} in ${node}`);
    audit(this.d.log, 'retracted', { jid: subject.jid, topic: node, item: id });
    const subscriptions = this.d.topics.subscriptionsOf(a.topic.name).filter((s) => node === a.topic.name || s.subtopic === node);
    this.events.emit({ kind: 'retracted', topic: a.topic.name, node, itemId: id, subscriptions, notify: o.notify === true });
    return ok({ topic: a.topic, subscriptions });
  }

  /** XEP-0060 §8.5; the subscribers hear of it (the `purged` event). */
  async purge(subject: PolicySubject, node: string): Promise<Result<Subscription[]>> {
    const a = this.d.topics.check(subject, 'create', node);
    if (isFail(a)) return a;
    await this.d.items.purge(node);
    audit(this.d.log, 'purged', { jid: subject.jid, topic: node });
    const subscriptions = this.d.topics.subscriptionsOf(a.topic.name);
    this.events.emit({ kind: 'purged', topic: node, subscriptions });
    return ok(subscriptions);
  }

  /** XEP-0060 §6.5: the N newest, or by id; cut by the node's TLP cap. Cuts yield to the loop. */
  async items(subject: PolicySubject, node: string, opts: { max?: number; ids?: string[] }): Promise<Result<{ topic: Topic; items: QueryPage['items'] }>> {
    await this.d.beforeRead?.();
    const a = this.d.topics.check(subject, 'query', node);
    if (isFail(a)) return a;
    const cap = capOf(a.decision);
    let list: StoredItem[];
    if (opts.ids?.length) list = opts.ids.map((id) => this.d.items.get(node, id)).filter((x): x is StoredItem => !!x);
    else list = opts.max ? this.d.items.latest(node, opts.max) : this.d.items.list(node);
    if (this.uncut(a.topic, null, cap)) return ok({ topic: a.topic, items: list.map(lazy) });
    const out = [];
    const slice = new Slice();
    for (const item of list) {
      await slice.turn();
      const payload = this.cut(a.topic, this.payloadOf(a.topic, item.payload), null, cap);
      if (payload !== null) out.push({ item, payload });
    }
    return ok({ topic: a.topic, items: out });
  }

  /**
   * §7: the filtered query over stored items, ascending seq, paged by seq; limits and checks
   * in query.ts, cut as for a subscription and by the TLP cap. A long scan yields to the loop.
   */
  async query(subject: PolicySubject, node: string, req: QueryRequest): Promise<Result<{ topic: Topic } & QueryPage>> {
    await this.d.beforeRead?.();
    const a = this.d.topics.check(subject, 'query', node);
    if (isFail(a)) return a;
    const q = checkQuery(req);
    if (isFail(q)) return q;
    let filter: Filter | null = null;
    if (Object.keys(q.value.filter).length) {
      const p = parseFilter(q.value.filter, a.topic, this.d.topics.limits.filter);
      if (isFail(p)) return p;
      filter = p.value;
    }
    const { afterSeq, addedAfter, limit } = q.value;
    const cap = capOf(a.decision);
    const after = afterSeq ?? 0;
    const oldest = this.d.items.oldestSeq(node);
    const truncated = afterSeq !== undefined && oldest !== undefined && after < oldest - 1;
    const page: QueryPage['items'] = [];
    let count = 0;
    const uncut = this.uncut(a.topic, filter, cap);
    const slice = new Slice();
    for (const item of this.d.items.after(node, after, Number.MAX_SAFE_INTEGER)) {
      await slice.turn();
      if (addedAfter !== undefined && !(Date.parse(item.published) > addedAfter)) continue;
      if (uncut) {
        // Counted without reading the payload; only the page's are read, when answered.
        count++;
        if (page.length < limit) page.push(lazy(item));
        continue;
      }
      const payload = this.cut(a.topic, this.payloadOf(a.topic, item.payload), filter, cap);
      if (payload === null) continue;
      count++;
      if (page.length < limit) page.push({ item, payload });
    }
    return ok({ topic: a.topic, items: page, count, truncated });
  }
}

interface StoredPayload {
  text: string;
  stix?: ParsedStix;
  xml?: XmlPayload;
}

function capOf(d: { maxTlp?: TlpCap['maxTlp']; unmarked?: TlpCap['unmarked'] }): TlpCap {
  return { ...(d.maxTlp ? { maxTlp: d.maxTlp } : {}), ...(d.unmarked ? { unmarked: d.unmarked } : {}) };
}

/** An answer entry whose payload is read from the store only when the answer uses it. */
function lazy(item: StoredItem): { item: StoredItem; payload: string } {
  return { item, get payload() { return item.payload; } };
}

function parseStored(text: string): ParsedStix | null {
  const p = parseStixPayload(text);
  return isFail(p) ? null : p.value;
}
