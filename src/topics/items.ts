// Publish, retract, purge, items retrieval and the filtered query (PROTOCOL §5, §7), and the
// delivery plan: who gets which cut of a published item. A publish resolves only after the
// item is durably stored (the item store fsyncs before it answers).
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { audit } from '../log.js';
import { fail, ok, type Result } from '../result.js';
import type { ItemStore, StoredItem } from '../store/types.js';
import type { PolicySubject } from '../policy/types.js';
import type { ParsedStix } from '../payloads/types.js';
import { parseStixPayload, validateItemPayload, checkPayloadSize, STIX_CONTENT_TYPE } from '../payloads/index.js';
import { parseFilter } from '../filters/parse.js';
import { cutStix, makePredicate } from '../filters/cut.js';
import type { Filter } from '../filters/types.js';
import { storageNameProblem, type TopicService } from './service.js';
import type { Cap, Delivery, IncomingPayload, Subscription, Topic } from './types.js';

export interface ItemServiceDeps {
  topics: TopicService;
  items: ItemStore;
  subject: (bareJid: string) => PolicySubject | null;
  payloadLimit: () => number;
  log: Logger;
  now?: () => Date;
}

export interface Published {
  topic: Topic;
  node: string;
  item: StoredItem;
  deliveries: Delivery[];
}

export interface QueryPage {
  items: { item: StoredItem; payload: string }[];
  count: number;
  truncated: boolean;
}

export class ItemService {
  /** owner \0 topic → cap of the rule that permits the subscription; cleared on any change. */
  private readonly capCache = new Map<string, Cap | null>();

  constructor(private readonly d: ItemServiceDeps) {}

  /** Policy or account changed: decisions must be taken again. */
  invalidate(): void {
    this.capCache.clear();
  }

  async publish(subject: PolicySubject, node: string, itemId: string | undefined, payload: IncomingPayload): Promise<Result<Published>> {
    const a = this.d.topics.check(subject, 'publish', node);
    if ('fail' in a) return a;
    if (a.subtopic && a.topic.filtering !== 'publisher') {
      return fail('not-allowed', `topic ${a.topic.name} is filtered by the controller: publish to the topic node`);
    }
    // A policy-declared topic can carry a name the item store cannot hold: refuse, never throw.
    const unstorable = storageNameProblem(node);
    if (unstorable) return fail('not-acceptable', unstorable);
    const tooBig = checkPayloadSize(Buffer.byteLength(payload.serialised, 'utf8'), this.d.payloadLimit());
    if (tooBig) return fail('payload-too-big', tooBig.text);
    const v = validateItemPayload(a.topic.contentType, payload.root, { payloadNamespace: a.topic.payloadNamespace, ancestors: payload.ancestors });
    if (!v.ok) {
      audit(this.d.log, 'publish-refused', { jid: subject.jid, topic: node, reason: v.error.text });
      return fail(v.error.code, v.error.text);
    }
    const id = itemId || randomUUID();
    const stored = await this.d.items.append(node, {
      id, publisher: subject.jid, payload: v.stix ? v.stix.text : payload.serialised,
      published: (this.d.now?.() ?? new Date()).toISOString(),
    }, a.topic.maxItems);
    // The topic was deleted while the item was being written (found by the race test): the
    // item must not outlive it, nor reappear in a topic later created with the same name.
    if (this.d.topics.topic(a.topic.name)?.createdAt !== a.topic.createdAt) {
      await this.d.items.retract(node, id);
      return fail('item-not-found', `topic ${a.topic.name} was deleted`);
    }
    const deliveries = this.plan(a.topic, node, stored, v.stix);
    this.d.log.debug({ jid: subject.jid, topic: node, item: id, seq: stored.seq, deliveries: deliveries.length }, 'published');
    return ok({ topic: a.topic, node, item: stored, deliveries });
  }

  /**
   * Who receives what. One cut per distinct (subtopic, cap): recipients that share a cutKey
   * share the payload string, so a fan-out to N subscribers costs one cut per group.
   */
  plan(topic: Topic, node: string, item: StoredItem, stix?: ParsedStix): Delivery[] {
    const isSub = node !== topic.name;
    const all = this.d.topics.subscriptionsOf(topic.name);
    const subs = all.filter((s) => isSub ? s.subtopic === node : s.subtopic === null || topic.filtering === 'controller');
    const perJid = new Map<string, number>();
    for (const s of all) perJid.set(s.jid, (perJid.get(s.jid) ?? 0) + 1);
    const cuts = new Map<string, string | null>();
    const out: Delivery[] = [];
    for (const s of subs) {
      const cap = this.capFor(s);
      if (cap === null) continue; // no longer permitted: recheck ends it
      const filter = isSub ? null : s.filter;
      const cutKey = `${filter ? s.subtopic : '-'}|${cap.maxTlp ?? ''}|${cap.unmarked ?? ''}`;
      let payload = cuts.get(cutKey);
      if (payload === undefined) {
        payload = this.cut(topic, () => item.payload, stix, filter, cap);
        cuts.set(cutKey, payload);
      }
      if (payload === null) continue;
      out.push({ subscription: s, cutKey, payload, needsSubId: (perJid.get(s.jid) ?? 0) > 1 });
    }
    return out;
  }

  private capFor(s: Subscription): Cap | null {
    const key = `${s.owner}\0${s.topic}`;
    let cap = this.capCache.get(key);
    if (cap !== undefined) return cap;
    const subject = this.d.subject(s.owner);
    const d = subject ? this.d.topics.auth.decide(subject, 'subscribe', s.topic) : null;
    cap = d && d.effect === 'permit' ? { ...(d.maxTlp ? { maxTlp: d.maxTlp } : {}), ...(d.unmarked ? { unmarked: d.unmarked } : {}) } : null;
    this.capCache.set(key, cap);
    return cap;
  }

  /** True when the cut for a filter and a cap is the stored payload itself. */
  private uncut(topic: Topic, filter: Filter | null, cap: Cap): boolean {
    if (topic.contentType !== STIX_CONTENT_TYPE) return true; // nothing to cut in XML payloads
    return !filter && !cap.maxTlp && cap.unmarked !== 'deny';
  }

  /**
   * The payload text for a filter and a cap; null when nothing is left. `stored` reads the
   * payload (the item store may read it from disk): called only when it is needed.
   */
  private cut(topic: Topic, stored: () => string, stix: ParsedStix | undefined, filter: Filter | null, cap: Cap): string | null {
    if (this.uncut(topic, filter, cap)) return stored();
    const parsed = stix ?? parseStored(stored());
    if (!parsed) return null;
    return cutStix(parsed, makePredicate(filter, cap, topic.filterFields))?.json ?? null;
  }

  /** After configure lowered max_items: the stored history follows at once. */
  async trim(node: string, maxItems: number): Promise<number> {
    return this.d.items.trim(node, maxItems);
  }

  async retract(subject: PolicySubject, node: string, id: string): Promise<Result<{ topic: Topic; subscriptions: Subscription[] }>> {
    const a = this.d.topics.check(subject, 'publish', node);
    if ('fail' in a) return a;
    if (!(await this.d.items.retract(node, id))) return fail('item-not-found', `no item ${id} in ${node}`);
    audit(this.d.log, 'retracted', { jid: subject.jid, topic: node, item: id });
    return ok({ topic: a.topic, subscriptions: this.d.topics.subscriptionsOf(a.topic.name).filter((s) => node === a.topic.name || s.subtopic === node) });
  }

  async purge(subject: PolicySubject, node: string): Promise<Result<Subscription[]>> {
    const a = this.d.topics.check(subject, 'create', node);
    if ('fail' in a) return a;
    await this.d.items.purge(node);
    audit(this.d.log, 'purged', { jid: subject.jid, topic: node });
    return ok(this.d.topics.subscriptionsOf(a.topic.name));
  }

  /** XEP-0060 §6.5: the N newest, or by id; cut by the node's TLP cap. */
  items(subject: PolicySubject, node: string, opts: { max?: number; ids?: string[] }): Result<{ topic: Topic; items: { item: StoredItem; payload: string }[] }> {
    const a = this.d.topics.check(subject, 'query', node);
    if ('fail' in a) return a;
    const cap = capOf(a.decision);
    let list: StoredItem[];
    if (opts.ids?.length) list = opts.ids.map((id) => this.d.items.get(node, id)).filter((x): x is StoredItem => !!x);
    else list = opts.max ? this.d.items.latest(node, opts.max) : this.d.items.list(node);
    if (this.uncut(a.topic, null, cap)) return ok({ topic: a.topic, items: list.map(lazy) });
    const out = [];
    for (const item of list) {
      const payload = this.cut(a.topic, () => item.payload, undefined, null, cap);
      if (payload !== null) out.push({ item, payload });
    }
    return ok({ topic: a.topic, items: out });
  }

  /** §7: filtered query over stored items, ascending seq, with paging by seq. */
  query(subject: PolicySubject, node: string, q: { filter: Record<string, string[]>; afterSeq?: number; addedAfter?: string; max: number }): Result<{ topic: Topic } & QueryPage> {
    const a = this.d.topics.check(subject, 'query', node);
    if ('fail' in a) return a;
    let filter: Filter | null = null;
    if (Object.keys(q.filter).length) {
      const p = parseFilter(q.filter, a.topic);
      if (!p.ok) return fail('invalid-options', p.text);
      filter = p.filter;
    }
    const cap = capOf(a.decision);
    const after = q.afterSeq ?? 0;
    const addedAfter = q.addedAfter ? Date.parse(q.addedAfter) : undefined;
    const oldest = this.d.items.oldestSeq(node);
    const truncated = q.afterSeq !== undefined && oldest !== undefined && after < oldest - 1;
    const page: QueryPage['items'] = [];
    let count = 0;
    const uncut = this.uncut(a.topic, filter, cap);
    for (const item of this.d.items.after(node, after, Number.MAX_SAFE_INTEGER)) {
      if (addedAfter !== undefined && !(Date.parse(item.published) > addedAfter)) continue;
      if (uncut) {
        // Counted without reading the payload; only the page's are read, when answered.
        count++;
        if (page.length < q.max) page.push(lazy(item));
        continue;
      }
      const payload = this.cut(a.topic, () => item.payload, undefined, filter, cap);
      if (payload === null) continue;
      count++;
      if (page.length < q.max) page.push({ item, payload });
    }
    return ok({ topic: a.topic, items: page, count, truncated });
  }
}

function capOf(d: { maxTlp?: Cap['maxTlp']; unmarked?: Cap['unmarked'] }): Cap {
  return { ...(d.maxTlp ? { maxTlp: d.maxTlp } : {}), ...(d.unmarked ? { unmarked: d.unmarked } : {}) };
}

/** An answer entry whose payload is read from the store only when the answer uses it. */
function lazy(item: StoredItem): { item: StoredItem; payload: string } {
  return { item, get payload() { return item.payload; } };
}

function parseStored(text: string): ParsedStix | null {
  const p = parseStixPayload(text);
  return p.ok ? p : null;
}
