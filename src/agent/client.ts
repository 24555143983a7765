// GridClient: what a grid node does on the grid (PROTOCOL §2–§7) — register, learn topics,
// publish, subscribe with filters, query — over a certificate-authenticated connection that
// comes back by itself after a loss, with its subscriptions renewed where they were lost.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import xml from '@xmpp/xml';
import type { Element } from '@xmpp/xml';
import { connectNode } from './connection.js';
import type { NodeConnection } from './types.js';
import type {
  AccountState, Filter, GridClientOptions, GridEvent, GridLimits, Payload, QueryOptions, QueryPage, RegisterOptions,
  SubscribeOptions, SubtopicInfo, Subscription, TopicInfo,
} from './grid-types.js';
import { GridError, toGridError, usageError, type GridOperation } from './errors.js';
import { EventQueue } from './event-queue.js';
import { parseEvents } from './events.js';
import { parseRegistration, registrationGet, registrationRemove, registrationSubmit, signChallenge } from './register.js';
import * as ps from './pubsub.js';
import { controllerInfoIq, discoInfoIq, discoItemsIq, parseDiscoItems, parseLimits, parseTopicInfo } from './topics.js';
import { parseQueryPage, queryIq } from './query.js';
import { payloadElement } from './payloads.js';
import { retryWithBackoff } from './reconnect.js';
import { waitForApproval } from './approval.js';

export class GridClient {
  readonly controller: string;
  private conn: NodeConnection;
  private readonly held = new Map<string, Subscription>();
  private readonly queues = new Set<EventQueue<GridEvent>>();
  private readonly listeners = new Set<(e: GridEvent) => void>();
  private reconnecting: Promise<void> | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private limitsAsked: Promise<GridLimits> | undefined;

  private constructor(private readonly opts: GridClientOptions, conn: NodeConnection) {
    this.controller = opts.controller ?? `controller.${opts.domain}`;
    this.conn = conn;
    this.attach(conn);
  }

  /**
   * Connects with the node's certificate (TLS + SASL EXTERNAL); throws GridError('connection').
   * Each client binds a resource of its own (`grid-node-<random>` unless `resource` is given)
   * and keeps it across reconnects: its subscriptions are made with that full JID, so two
   * processes of one node (one certificate) hold separate subscriptions and one stopping
   * never ends the other's feed.
   */
  static async connect(opts: GridClientOptions): Promise<GridClient> {
    const own = { ...opts, resource: opts.resource || defaultResource() };
    try {
      const conn = await connectNode(own);
      const client = new GridClient(own, conn);
      await client.announce(conn);
      return client;
    } catch (err) {
      throw toGridError(err, { operation: 'connect' });
    }
  }

  /**
   * Directed presence to the controller (RFC 6121 §4.6): the server then tells it when this
   * session ends, however it ends, so it can end the session's temporary subscriptions.
   */
  private async announce(conn: NodeConnection): Promise<void> {
    if (this.opts.presence !== false) await conn.send(xml('presence', { to: this.controller }));
  }

  /** The full JID the server bound. */
  get jid(): string { return this.conn.jid; }
  get bareJid(): string { return this.conn.jid.split('/')[0]!; }
  /** The subscriptions this client made and still holds. */
  get subscriptionsHeld(): Subscription[] { return [...this.held.values()]; }

  // ---- account (§2)

  async status(): Promise<AccountState> {
    return parseRegistration(await this.request(registrationGet(this.controller), { operation: 'registration' })).account;
  }

  /** Registers (or re-registers) this node; resolves with the account state after the submission. */
  async register(o: RegisterOptions = {}): Promise<AccountState> {
    const { challenge } = parseRegistration(await this.request(registrationGet(this.controller), { operation: 'registration' }));
    const certPem = this.opts.cert ?? readFileSync(this.need(this.opts.certFile, 'certFile'), 'utf8');
    const keyPem = this.opts.key ?? readFileSync(this.need(this.opts.keyFile, 'keyFile'), 'utf8');
    await this.request(registrationSubmit(this.controller, { challenge, certPem, signature: signChallenge(keyPem, challenge), ...o }),
      { operation: 'register' });
    return this.status();
  }

  /** Deletes the account and all its subscriptions (XEP-0077 `<remove/>`). */
  async unregister(): Promise<void> {
    await this.request(registrationRemove(this.controller), { operation: 'unregister' });
    this.held.clear();
  }

  /** Resolves once the account is approved; rejects with GridError on denial, revocation or timeout. */
  waitForApproval(timeoutMs = 60_000): Promise<AccountState> {
    return waitForApproval(this, timeoutMs);
  }

  // ---- topics (§3, §6)

  async topics(): Promise<TopicInfo[]> {
    const listed: { node: string; name?: string }[] = [];
    let after: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const r = parseDiscoItems(await this.request(discoItemsIq(this.controller, after), { operation: 'discover' }));
      listed.push(...r.items);
      if (!r.last || r.items.length === 0 || (r.count !== undefined && listed.length >= r.count) || r.count === undefined) break;
      after = r.last;
    }
    return Promise.all(listed.map((t) => this.topic(t.node, t.name)));
  }

  async topic(node: string, name?: string): Promise<TopicInfo> {
    return parseTopicInfo(await this.request(discoInfoIq(this.controller, node), { operation: 'discover', topic: node }), node, name);
  }

  /** §6: become a publisher of `topic`; returns the current subtopics (what subscribers want). */
  async registerPublisher(topic: string): Promise<SubtopicInfo[]> {
    return ps.parseSubtopics(await this.request(ps.registerPublisherIq(this.controller, topic), { operation: 'publish', topic }));
  }

  async subtopics(topic: string): Promise<SubtopicInfo[]> {
    return ps.parseSubtopics(await this.request(ps.subtopicsIq(this.controller, topic), { operation: 'discover', topic }));
  }

  // ---- publish (§5)

  /** The controller's advertised limits (asked once per client; {} from a controller that has none). */
  limits(): Promise<GridLimits> {
    this.limitsAsked ??= this.request(controllerInfoIq(this.controller), { operation: 'discover' }).then(parseLimits, (err: unknown) => {
      this.limitsAsked = undefined;
      throw err;
    });
    return this.limitsAsked;
  }

  /**
   * Publishes one item: a STIX object/bundle/envelope, or an XML document (text or element).
   * A payload over the grid's limit is refused here, before anything is sent: the server
   * would close the whole stream over it (Prosody: 256 KiB on a client stream).
   */
  async publish(topic: string, payload: Payload | Element, o: { id?: string } = {}): Promise<{ id: string }> {
    const el = payloadElement(payload);
    const { payloadBytes } = await this.limits();
    const bytes = Buffer.byteLength(el.toString(), 'utf8');
    if (payloadBytes !== undefined && bytes > payloadBytes) {
      throw new GridError('usage', 'payload-too-big', `payload-too-big: the payload is ${bytes} bytes, over the grid's limit of ${payloadBytes} bytes (the controller's limits.payload_bytes); not sent`);
    }
    const r = await this.request(ps.publishIq(this.controller, topic, el, o.id), { operation: 'publish', topic });
    return { id: ps.parsePublishReply(r, o.id) };
  }

  async retract(topic: string, id: string): Promise<void> {
    await this.request(ps.retractIq(this.controller, topic, id), { operation: 'retract', topic });
  }

  // ---- subscribe (§5)

  /**
   * Subscribes this client's full JID: notifications come to this process only, and the
   * subscription is this client's alone (another process of the same node holds its own).
   * It is temporary unless `keep`: the controller ends it when this session ends, so a
   * process that dies leaves nothing behind; after a reconnect this client subscribes again.
   */
  async subscribe(topic: string, filter?: Filter, o: SubscribeOptions = {}): Promise<Subscription> {
    const temporary = !o.keep && this.opts.presence !== false;
    const r = await this.request(ps.subscribeIq(this.controller, topic, this.jid, filter, temporary), { operation: 'subscribe', topic });
    const sub = ps.parseSubscribeReply(r, topic, filter, temporary);
    this.held.set(sub.subid || `${topic}\n`, sub);
    return sub;
  }

  /**
   * Unsubscribes one subscription (by subid) or, without subid, the one this client holds on
   * the topic. A subid this client does not hold (another process's, a previous run's) is
   * ended under the JID the controller lists for it.
   */
  async unsubscribe(topic: string, subid?: string): Promise<void> {
    const held = subid ?? [...this.held.values()].find((s) => s.topic === topic)?.subid;
    const ours = !held || [...this.held.values()].some((s) => s.topic === topic && s.subid === held);
    const jid = ours ? this.jid : (await this.subscriptions(topic)).find((s) => s.subid === held)?.jid || this.jid;
    await this.request(ps.unsubscribeIq(this.controller, topic, jid, held || undefined), { operation: 'unsubscribe', topic });
    for (const [k, s] of this.held) if (s.topic === topic && (!held || s.subid === held)) this.held.delete(k);
  }

  /** The controller's list of this JID's subscriptions (XEP-0060 §5.6). */
  async subscriptions(topic?: string): Promise<ps.ListedSubscription[]> {
    return ps.parseSubscriptions(await this.request(ps.subscriptionsIq(this.controller, topic), { operation: 'subscriptions', ...(topic ? { topic } : {}) }));
  }

  /**
   * Events from now on (items, retractions, ended subscriptions, account and subtopic changes).
   * Pubsub events count only when they belong to this client's own subscriptions: those sent
   * to another JID of the node (the server hands a notification for a resource that is gone
   * to the others) or for a subscription this client does not hold are not yielded.
   */
  items(): AsyncIterableIterator<GridEvent> {
    const q: EventQueue<GridEvent> = new EventQueue(() => this.queues.delete(q));
    this.queues.add(q);
    return q;
  }

  /** Callback form of items(); returns a function that removes the listener. */
  onEvent(fn: (e: GridEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // ---- query (§7)

  /** Pages of stored items in ascending seq; the next page continues after the last seq seen. */
  async *query(topic: string, o: QueryOptions = {}): AsyncGenerator<QueryPage> {
    let after: number | undefined;
    let seen = 0;
    for (;;) {
      const page = parseQueryPage(await this.request(queryIq(this.controller, topic, o, after), { operation: 'query', topic }), topic);
      // RSM count = matches from this page on, so a page holding `count` items is the last.
      const last = page.items.length === 0 || page.last === undefined || (after !== undefined && page.last <= after)
        || (page.count !== undefined && page.items.length >= page.count);
      if (o.limit !== undefined && seen + page.items.length > o.limit) page.items.length = Math.max(0, o.limit - seen);
      seen += page.items.length;
      yield page;
      if (last || (o.limit !== undefined && seen >= o.limit)) return;
      after = page.last;
    }
  }

  // ---- lifecycle

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const q of this.queues) q.end();
    this.queues.clear();
    await this.conn.close();
  }

  /** One request to the controller; waits out a reconnect in progress; errors become GridError. */
  async request(el: Element, op: GridOperation): Promise<Element> {
    if (this.closed) throw new GridError('usage', 'closed', `the client is closed (${op.operation})`);
    if (this.reconnecting) await this.reconnecting;
    try {
      return await this.conn.iq(el, this.opts.requestTimeoutMs ?? 15_000);
    } catch (err) {
      throw toGridError(err, op);
    }
  }

  private need(v: string | undefined, name: string): string {
    if (!v) throw usageError(`registration needs the certificate and key: pass ${name} (or cert/key text)`);
    return v;
  }

  /**
   * Whether a pubsub event is for one of this client's subscriptions. RFC 6121 §8.5.3.2.1:
   * a message to a full JID that is offline goes to the account's other resources, so a
   * process sees the notifications of a sibling that died without unsubscribing.
   */
  private isMine(e: GridEvent, to: string | undefined): boolean {
    if (e.kind !== 'item' && e.kind !== 'retract' && e.kind !== 'subscription-ended' && e.kind !== 'purge' && e.kind !== 'delete') return true;
    if (!sameJid(to, this.jid)) return false;
    const subid = 'subid' in e ? e.subid : undefined;
    return [...this.held.values()].some((s) => s.topic === e.topic && (!subid || s.subid === subid));
  }

  private emit(e: GridEvent): void {
    // XEP-0060 §12.4 sends the SubID header only to a JID with several subscriptions: with one,
    // the item is that one's.
    if (e.kind === 'item' && !e.subid) {
      const mine = [...this.held.values()].filter((s) => s.topic === e.topic);
      if (mine.length === 1 && mine[0]!.subid) e.subid = mine[0]!.subid;
    }
    if (e.kind === 'subscription-ended') {
      for (const [k, s] of this.held) if (s.topic === e.topic && (!e.subid || s.subid === e.subid)) this.held.delete(k);
    }
    for (const q of this.queues) q.push(e);
    for (const fn of this.listeners) fn(e);
  }

  private attach(conn: NodeConnection): void {
    conn.on('stanza', (s: Element) => {
      for (const e of parseEvents(s, this.controller)) if (this.isMine(e, s.attrs.to)) this.emit(e);
    });
    conn.on('status', (status: string) => {
      if (status === 'disconnect' && !this.closed && this.conn === conn && this.opts.reconnect !== false && !this.reconnecting) {
        this.emit({ kind: 'disconnected' }); // what arrives from now on may follow a gap (catchup.ts)
        this.reconnecting = this.reconnect().finally(() => { this.reconnecting = undefined; });
      }
    });
  }

  private async reconnect(): Promise<void> {
    const conn = await retryWithBackoff(() => connectNode(this.opts), {
      ...(this.opts.maxBackoffMs !== undefined ? { maxMs: this.opts.maxBackoffMs } : {}),
      cancelled: () => this.closed,
      sleep: (ms) => new Promise<void>((r) => { this.timer = setTimeout(r, ms); }),
    });
    if (!conn) return;
    if (this.closed) { await conn.close(); return; }
    void this.conn.close().catch(() => undefined);
    this.conn = conn;
    this.attach(conn);
    this.reconnecting = undefined; // requests below go straight to the new connection
    await this.announce(conn).catch(() => undefined);
    const resubscribed = await this.renewSubscriptions().catch(() => [] as Subscription[]);
    this.emit({ kind: 'reconnected', resubscribed });
  }

  /**
   * Subscriptions this client holds that the controller no longer lists are made again; a
   * temporary one always is (the controller ends it with the old session, in stanza order
   * before this request; if it has not, the same subscription comes back).
   */
  private async renewSubscriptions(): Promise<Subscription[]> {
    if (this.held.size === 0) return [];
    const persistent = [...this.held.values()].some((s) => !s.temporary);
    const listed = new Set(persistent ? (await this.subscriptions()).map((s) => `${s.topic}\n${s.subid ?? ''}`) : []);
    const renewed: Subscription[] = [];
    for (const [k, s] of [...this.held]) {
      if (!s.temporary && listed.has(`${s.topic}\n${s.subid}`)) continue;
      this.held.delete(k);
      const again = await this.subscribe(s.topic, s.filter, { keep: !s.temporary });
      if (again.subid !== s.subid) renewed.push(again);
    }
    return renewed;
  }
}

/** A resource of this process's own: `grid-node-` and 8 random hex digits. */
function defaultResource(): string {
  return `grid-node-${randomBytes(4).toString('hex')}`;
}

/** Full JIDs compared as XMPP does: local part and domain without case, the resource exactly. */
function sameJid(a: string | undefined, b: string): boolean {
  if (!a) return false;
  const split = (j: string) => { const i = j.indexOf('/'); return i === -1 ? [j.toLowerCase(), ''] : [j.slice(0, i).toLowerCase(), j.slice(i + 1)]; };
  const [ab, ar] = split(a);
  const [bb, br] = split(b);
  return ab === bb && ar === br;
}
