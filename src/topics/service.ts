// The topic directory, subscriptions and subtopics (PROTOCOL §3, §5, §6). Pure of XMPP:
// methods take the acting subject explicitly, return Results, and report what others must
// hear through the 'event' emitter (TopicEvent). Items live in items.ts.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { audit } from '../log.js';
import { ownString } from '../own-string.js';
import { fail, ok, type Fail, type Result, isFail } from '../result.js';
import type { ControlStore } from '../store/types.js';
import type { Policy, PolicySubject, TopicDecl } from '../policy/types.js';
import { topicNameProblem } from '../policy/glob.js';
import { bareJid, sameJid } from '../jid.js';
import { DEFAULT_FILTER_CAPS, parseFilter } from '../filters/parse.js';
import { filterHash, subtopicNode } from '../filters/canonical.js';
import { Authorizer, type Access } from './access.js';
import { configOf, declConfig, storageNameProblem } from './config.js';
import { CommitQueue, type Commit } from './commit.js';
import { SubscriptionIndex } from './subscription-index.js';
import type { Subscription, SubtopicView, Topic, TopicConfig, TopicEvent, TopicLimits, TopicsState } from './types.js';

export const MAX_SUBSCRIPTIONS_PER_ACCOUNT = 1000;
export const DEFAULT_TOPIC_LIMITS: TopicLimits = {
  subscriptionsPerAccount: MAX_SUBSCRIPTIONS_PER_ACCOUNT, subtopicsPerTopic: 1000, topicsPerAccount: 100, maxItems: 10000, filter: DEFAULT_FILTER_CAPS,
};
export const EMPTY_TOPICS: TopicsState = { version: 1, topics: {}, subscriptions: {} };

export interface TopicServiceDeps {
  store: ControlStore<TopicsState>;
  policy: () => Policy;
  /** The policy subject of an approved account, or null when the JID may not use the grid. */
  subject: (bareJid: string) => PolicySubject | null;
  log: Logger;
  now?: () => Date;
  /** Default DEFAULT_TOPIC_LIMITS (the config's defaults). */
  limits?: TopicLimits;
  /**
   * A cluster (§14): catch up with the other instances' changes before every change of topics
   * or subscriptions, so that it rests on everything acknowledged anywhere before: the subtopic
   * messages and lists of a subscribe or publisher registration name every publisher and
   * subtopic, an unsubscribe (configure, delete) finds the subscription (topic) another
   * instance has just acknowledged, and a revocation's re-check ends it too
   * (src/store/pg/notify.ts sync).
   */
  sync?: () => Promise<void>;
  /**
   * A cluster: runs `fn` while no other instance re-checks the whole grid, so that after a
   * policy reload (which every instance sees) each subscription is ended, and announced, once.
   */
  exclusive?: <R>(fn: () => Promise<R>) => Promise<R>;
}

export class TopicService extends EventEmitter {
  readonly auth: Authorizer;
  /** Derived from the stored subscriptions (rebuilt at start). */
  private readonly subs = new SubscriptionIndex();
  readonly limits: TopicLimits;

  /**
   * Mutations check the state, change it and update the indexes in one synchronous step, then
   * are acknowledged in order once durable (commit.ts): concurrent subscribes share one group
   * commit, and none sees another half-done (interleaved across an await, two subscribes both
   * missed each other and a subscribe racing a delete left a subscription on a deleted topic —
   * both found by the fuzz).
   */
  private readonly commits: CommitQueue<TopicsState>;

  private mutate<T>(body: (c: Commit<TopicsState>) => T): Promise<T> {
    return this.commits.run(body);
  }

  constructor(private readonly d: TopicServiceDeps) {
    super();
    this.auth = new Authorizer(d.policy, d.log.child({ mod: 'policy' }));
    this.limits = d.limits ?? DEFAULT_TOPIC_LIMITS;
    this.commits = new CommitQueue(d.store);
    for (const s of Object.values(d.store.data.subscriptions)) this.subs.add(s);
  }

  private get state(): TopicsState {
    return this.d.store.data;
  }

  private now(): string {
    return (this.d.now?.() ?? new Date()).toISOString();
  }

  topic(name: string): Topic | undefined {
    // Own keys only: a node named `constructor` or `__proto__` must not resolve to
    // Object.prototype's members (the fuzz found `configure node='constructor'` crashing).
    return Object.hasOwn(this.state.topics, name) ? this.state.topics[name] : undefined;
  }

  subtopicExists = (node: string): boolean => this.subs.subtopicExists(node);

  check(subject: PolicySubject, op: Parameters<Authorizer['check']>[1], node: string): Access | Fail {
    return this.auth.check(subject, op, node, (n) => this.topic(n), this.subtopicExists);
  }

  /** Topics declared in the policy files exist from start-up (and after every reload). */
  async applyDeclaredTopics(decls: readonly TopicDecl[]): Promise<void> {
    return this.mutate((c) => {
      const fresh = decls.filter((t) => {
        const cur = this.topic(t.name);
        return !cur || cur.source !== 'policy' || JSON.stringify(configOf(cur)) !== JSON.stringify(declConfig(t));
      });
      if (!fresh.length) return;
      c.write((s) => {
        for (const t of fresh) {
          const cur = s.topics[t.name];
          s.topics[t.name] = { name: t.name, ...declConfig(t), source: 'policy', publishers: cur?.publishers ?? [], createdAt: cur?.createdAt ?? this.now(), ...(cur?.owner ? { owner: cur.owner } : {}) };
        }
      });
      c.after(() => this.d.log.info({ topics: fresh.map((t) => t.name) }, 'topics declared by policy'));
    });
  }

  /** Topics the subject may discover, sorted by name. */
  list(subject: PolicySubject): Topic[] {
    return Object.values(this.state.topics)
      .filter((t) => this.auth.decide(subject, 'discover', t.name).effect === 'permit')
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  allTopics(): Topic[] {
    return Object.values(this.state.topics);
  }

  async create(subject: PolicySubject, name: string, config: TopicConfig): Promise<Result<Topic>> {
    await this.d.sync?.();
    return this.mutate((c) => {
      const problem = topicNameProblem(name) ?? storageNameProblem(name);
      if (problem) return fail('not-acceptable', problem);
      if (this.auth.decide(subject, 'create', name).effect !== 'permit') return fail('forbidden', `policy does not allow create on ${name}`);
      if (this.topic(name)) return fail('conflict', `topic ${name} exists`);
      const capped = this.maxItemsProblem(config.maxItems);
      if (capped) return capped;
      const cap = this.limits.topicsPerAccount;
      if (this.topicsCreatedBy(subject.jid) >= cap) {
        return fail('not-allowed', `at most ${cap} created topics per account (limits.topics_per_account): delete some first`);
      }
      const topic: Topic = { name, ...config, source: 'create', owner: subject.jid, publishers: [], createdAt: this.now() };
      c.write((s) => {
        s.topics[name] = topic;
      });
      c.after(() => audit(this.d.log, 'topic-created', { jid: subject.jid, topic: name, content_type: config.contentType }));
      return ok(topic);
    });
  }

  async configure(subject: PolicySubject, node: string, patch: Partial<TopicConfig>): Promise<Result<Topic>> {
    await this.d.sync?.();
    return this.mutate((c) => {
      const a = this.check(subject, 'create', node);
      if (isFail(a)) return a;
      if (a.subtopic) return fail('not-allowed', 'subtopics take their configuration from the parent topic');
      if (a.topic.source === 'policy') return fail('not-allowed', `topic ${a.topic.name} is declared in the policy files: configure it there`);
      const capped = patch.maxItems === undefined ? null : this.maxItemsProblem(patch.maxItems);
      if (capped) return capped;
      const next: Topic = { ...a.topic, ...patch };
      c.write((s) => {
        s.topics[a.topic.name] = next;
      });
      c.after(() => audit(this.d.log, 'topic-configured', { jid: subject.jid, topic: a.topic.name, fields: Object.keys(patch) }));
      return ok(next);
    });
  }

  async delete(subject: PolicySubject, node: string): Promise<Result<Subscription[]>> {
    await this.d.sync?.();
    return this.mutate((c) => {
      const a = this.check(subject, 'create', node);
      if (isFail(a)) return a;
      if (a.subtopic) return fail('not-allowed', 'a subtopic goes with its last subscription');
      if (a.topic.source === 'policy') return fail('not-allowed', `topic ${a.topic.name} is declared in the policy files: remove it there`);
      const subs = this.subscriptionsOf(a.topic.name);
      c.write((s) => {
        delete s.topics[a.topic.name];
        for (const sub of subs) delete s.subscriptions[sub.subid];
      });
      for (const sub of subs) this.subs.remove(sub);
      c.after(() => {
        audit(this.d.log, 'topic-deleted', { jid: subject.jid, topic: a.topic.name, subscriptions: subs.length });
        this.emitEvent({ kind: 'topic-deleted', topic: a.topic.name, subscriptions: subs });
      });
      return ok(subs);
    });
  }

  subscriptionsOf(topic: string): Subscription[] {
    const out: Subscription[] = [];
    for (const id of this.subs.ofTopic(topic)) {
      const s = this.state.subscriptions[id];
      if (s) out.push(s);
    }
    return out;
  }

  subscriptionsOfOwner(owner: string, topic?: string): Subscription[] {
    const out: Subscription[] = [];
    for (const id of this.subs.ofOwner(owner)) {
      const s = this.state.subscriptions[id];
      if (s && (!topic || s.topic === topic)) out.push(s);
    }
    return out;
  }

  /** Topics `owner` created (XEP-0060 create), counted against limits.topics_per_account. */
  topicsCreatedBy(owner: string): number {
    let n = 0;
    for (const t of Object.values(this.state.topics)) if (t.source === 'create' && t.owner === owner) n++;
    return n;
  }

  private maxItemsProblem(maxItems: number): Fail | null {
    const cap = this.limits.maxItems;
    return maxItems > cap ? fail('not-acceptable', `pubsub#max_items ${maxItems} is above the cap of ${cap} (limits.max_items)`) : null;
  }

  /** XEP-0060 §6.1 / §6.3.7: subscribe, with an optional filter (names without the prefix). */
  async subscribe(subject: PolicySubject, node: string, jid: string, filterFields: Record<string, string[]> | null, opts: { expire?: 'presence' } = {}): Promise<Result<{ subscription: Subscription; created: boolean }>> {
    await this.d.sync?.();
    return this.mutate((c) => {
      const a = this.check(subject, 'subscribe', node);
      if (isFail(a)) return a;
      if (a.subtopic) return fail('not-allowed', 'subscribe to the topic node with a filter; the subtopic follows from it');
      if (bareJid(jid) !== subject.jid) return fail('invalid-jid', 'the jid must be your own (bare or full)');
      if (opts.expire && !jid.includes('/')) return fail('invalid-options', 'pubsub#expire=presence needs a full JID: a bare JID has no presence session to end with');
      let filter = null;
      if (filterFields && Object.keys(filterFields).length) {
        const p = parseFilter(filterFields, a.topic, this.limits.filter);
        if (isFail(p)) return p;
        filter = p.value;
      }
      const subtopic = filter ? subtopicNode(a.topic.name, filterHash(filter)) : null;
      const same = this.subscriptionsOf(a.topic.name).find((s) => sameJid(s.jid, jid) && s.subtopic === subtopic);
      if (same) {
        if (same.expire === opts.expire) return ok({ subscription: same, created: false });
        // Asked again as temporary, or to be kept: the latest request decides its lifetime.
        const { expire: _e, ...rest } = same;
        const next: Subscription = { ...rest, ...(opts.expire ? { expire: opts.expire } : {}) };
        c.write((s) => {
          s.subscriptions[same.subid] = next;
        });
        return ok({ subscription: next, created: false });
      }
      // Each subscription (and each distinct filter) costs every publish and every store write:
      // a node must not create them without bound (resource exhaustion from remote input).
      const subCap = this.limits.subscriptionsPerAccount;
      if (this.subs.ofOwner(subject.jid).size >= subCap) {
        return fail('not-allowed', `at most ${subCap} subscriptions per account (limits.subscriptions_per_account): unsubscribe some first`);
      }
      const stCap = this.limits.subtopicsPerTopic;
      if (subtopic && !this.subtopicExists(subtopic) && this.subs.subtopicCount(a.topic.name) >= stCap) {
        return fail('not-allowed', `topic ${a.topic.name} has ${stCap} subtopics, the cap (limits.subtopics_per_topic): subscribe with a filter already in use, or without one`);
      }
      const sub: Subscription = { subid: randomUUID(), topic: a.topic.name, jid: ownString(jid), owner: subject.jid, filter, subtopic, ...(opts.expire ? { expire: opts.expire } : {}), createdAt: this.now() };
      c.write((s) => {
        s.subscriptions[sub.subid] = sub;
      });
      const isNew = subtopic !== null && !this.subtopicExists(subtopic);
      this.subs.add(sub);
      // Who hears of a new subtopic is decided now, with the state this change was made on.
      const publishers = isNew && subtopic && filter ? this.permittedPublishers(a.topic) : null;
      c.after(() => {
        audit(this.d.log, 'subscribed', { jid, topic: a.topic.name, subid: sub.subid, subtopic });
        if (publishers && subtopic && filter) {
          this.emitEvent({ kind: 'subtopic', action: 'created', subtopic: { node: subtopic, parent: a.topic.name, filter, subscribers: 1 }, publishers });
        }
      });
      return ok({ subscription: sub, created: true });
    });
  }

  /** XEP-0060 §6.2. */
  async unsubscribe(subject: PolicySubject, node: string, jid: string, subid: string | undefined): Promise<Result<Subscription>> {
    await this.d.sync?.();
    return this.mutate((c) => {
      const a = this.check(subject, 'discover', node);
      if (isFail(a)) return a;
      if (bareJid(jid) !== subject.jid) return fail('invalid-jid', 'the jid must be your own');
      // The subscriptions of exactly this JID: ending a bare-JID subscription, or one resource's,
      // leaves the other resources' subscriptions alone (each process of a node holds its own).
      const mine = this.subscriptionsOf(a.topic.name).filter((s) => sameJid(s.jid, jid));
      if (!mine.length) return fail('not-subscribed');
      let sub: Subscription | undefined;
      if (subid) {
        sub = mine.find((s) => s.subid === subid);
        if (!sub) return fail('invalid-subid');
      } else {
        if (mine.length > 1) return fail('subid-required');
        sub = mine[0];
      }
      this.end(c, [sub!], `unsubscribed by ${subject.jid}`, false);
      return ok(sub!);
    });
  }

  /**
   * XEP-0060 §12.4: `jid` (a full JID) went offline, so its temporary subscriptions end. No
   * notice goes out: the server would hand it to the account's other resources. Called in
   * stanza order, so a subscribe that follows the presence is queued after this.
   */
  async endTemporary(jid: string): Promise<number> {
    if (!jid.includes('/') || !this.subs.ofOwner(bareJid(jid)).size) return 0;
    try {
      return await this.mutate((c) => {
        const subs = this.subscriptionsOfOwner(bareJid(jid)).filter((s) => s.expire === 'presence' && sameJid(s.jid, jid));
        if (!subs.length) return 0;
        this.end(c, subs, 'temporary subscription: the resource went offline', false);
        c.after(() => this.emit('expired', subs));
        return subs.length;
      });
    } catch (err) {
      // Nobody awaits this (a presence has no answer): log. The store refused the change (it
      // changed nothing) or failed to store it (and refuses what follows): commit.ts.
      this.d.log.error({ err, jid }, 'temporary subscriptions could not be ended');
      return 0;
    }
  }

  /** §6: the current subtopics of a topic. */
  subtopics(topic: string): SubtopicView[] {
    const out: SubtopicView[] = [];
    for (const node of this.subs.sortedSubtopics(topic)) {
      const ids = this.subs.ofSubtopic(node);
      if (!ids.size) continue;
      const first = this.state.subscriptions[ids.values().next().value as string];
      if (first?.filter) out.push({ node, parent: topic, filter: first.filter, subscribers: ids.size });
    }
    return out;
  }

  /** §6: register as publisher (checks `publish`). */
  async registerPublisher(subject: PolicySubject, node: string): Promise<Result<SubtopicView[]>> {
    await this.d.sync?.();
    return this.mutate((c) => {
      const a = this.check(subject, 'publish', node);
      if (isFail(a)) return a;
      if (!a.topic.publishers.includes(subject.jid)) {
        c.write((s) => {
          s.topics[a.topic.name]!.publishers = [...a.topic.publishers, subject.jid].sort();
        });
        c.after(() => audit(this.d.log, 'publisher-registered', { jid: subject.jid, topic: a.topic.name }));
      }
      return ok(this.subtopics(a.topic.name));
    });
  }

  /**
   * After a policy change or a change of an account: end every subscription that is no
   * longer permitted (XEP-0060 §8.8.4 notifications go out through 'event').
   */
  async recheck(onlyOwner?: string): Promise<number> {
    // A whole-grid re-check follows a policy reload, which every instance of a cluster sees:
    // they take turns, and the one that comes second finds the subscriptions already ended.
    // (An account's re-check runs only where the account changed.)
    if (!onlyOwner && this.d.exclusive) return this.d.exclusive(() => this.recheckNow());
    return this.recheckNow(onlyOwner);
  }

  private async recheckNow(onlyOwner?: string): Promise<number> {
    // A cluster: a subscription another instance acknowledged a moment ago must be in the view
    // that is checked, or a revocation here would leave it standing (found by cluster.test).
    await this.d.sync?.();
    return this.mutate((c) => {
      const ended: Subscription[] = [];
      for (const s of Object.values(this.state.subscriptions)) {
        if (onlyOwner && s.owner !== onlyOwner) continue;
        const subject = this.d.subject(s.owner);
        const still = subject && this.topic(s.topic) && this.auth.decide(subject, 'subscribe', s.topic).effect === 'permit' && this.auth.decide(subject, 'discover', s.topic).effect === 'permit';
        if (!still) ended.push(s);
      }
      if (ended.length) this.end(c, ended, 'no longer permitted by policy or account state', true);
      return ended.length;
    });
  }

  /** Removes an account's publisher affiliations and subscriptions (account removed). */
  async forget(owner: string): Promise<void> {
    await this.d.sync?.(); // as recheck: every subscription of the account, wherever it was made
    return this.mutate((c) => {
      const subs = this.subscriptionsOfOwner(owner);
      if (subs.length) this.end(c, subs, 'account removed', true);
      const pubs = Object.values(this.state.topics).filter((t) => t.publishers.includes(owner));
      if (pubs.length) {
        c.write((s) => {
          for (const t of pubs) s.topics[t.name]!.publishers = t.publishers.filter((p) => p !== owner);
        });
      }
    });
  }

  private end(c: Commit<TopicsState>, subs: Subscription[], reason: string, notify: boolean): void {
    c.write((s) => {
      for (const sub of subs) delete s.subscriptions[sub.subid];
    });
    const events: TopicEvent[] = [];
    for (const sub of subs) {
      const wasLast = this.subs.remove(sub);
      if (notify) events.push({ kind: 'subscription-ended', subscription: sub, reason });
      if (wasLast && sub.subtopic && sub.filter) {
        const t = this.topic(sub.topic);
        events.push({ kind: 'subtopic', action: 'deleted', subtopic: { node: sub.subtopic, parent: sub.topic, filter: sub.filter, subscribers: 0 }, publishers: t ? this.permittedPublishers(t) : [] });
      }
    }
    c.after(() => {
      for (const sub of subs) audit(this.d.log, 'unsubscribed', { jid: sub.jid, topic: sub.topic, subid: sub.subid, reason });
      for (const e of events) this.emitEvent(e);
    });
  }

  /**
   * Registered publishers that may still publish: a subtopic message carries other nodes'
   * filters, so one whose account or permission went since registering hears nothing.
   */
  private permittedPublishers(t: Topic): string[] {
    return t.publishers.filter((p) => {
      const s = this.d.subject(p);
      return s !== null && this.auth.decide(s, 'publish', t.name).effect === 'permit';
    });
  }

  /**
   * A cluster (src/cluster/): another instance changed this subscription in the shared store
   * (before → after, either absent). The index follows, silently: that instance told whom it had to.
   */
  syncSubscription(before: Subscription | undefined, after: Subscription | undefined): void {
    if (before) this.subs.remove(before);
    if (after) this.subs.add(after);
  }

  /** A cluster: the shared state was read again as a whole; the index is rebuilt from it. */
  reindex(): void {
    this.subs.clear();
    for (const s of Object.values(this.state.subscriptions)) this.subs.add(s);
  }

  private emitEvent(e: TopicEvent): void {
    // Listeners build and queue stanzas. One that throws must not abort the caller midway
    // (end() would leave later subscriptions indexed after the store dropped them).
    try {
      this.emit('event', e);
    } catch (err) {
      this.d.log.error({ err, event: e.kind }, 'topic event listener failed');
    }
  }

}
