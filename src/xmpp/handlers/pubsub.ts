// XEP-0060 on the controller (PROTOCOL §5): routes <pubsub/> get/set by its first child and
// turns each use case into one call on the topic core. This file: create, publish, retract,
// items, affiliations; subscriptions live in pubsub-subscribe.ts, owner cases in
// pubsub-owner.ts. Handlers parse → call core → build; they return Fails, never throw.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { fail, isFail, type Fail } from '../../result.js';
import type { TopicService } from '../../topics/service.js';
import type { ItemService } from '../../topics/items.js';
import type { Topic } from '../../topics/types.js';
import type { PolicySubject } from '../../policy/types.js';
import { NS } from '../ns.js';
import { FORM_TYPES } from '../form-types.js';
import { findForm } from '../forms.js';
import type { IqReply, IqRequest, Router } from '../router.js';
import type { Disco } from './disco.js';
import { listPage } from '../paging.js';
import { fitAnswer, parseRsm, rsmSet } from '../xmlnode.js';
import { pageOf } from '../../topics/query.js';
import { publishInput } from '../payload-input.js';
import { completeConfig, DEFAULT_CONFIG, installPubsubOwner, parseNodeConfig } from './pubsub-owner.js';
import { defaultOptions, options, optionsSet, subscribe, subscriptions, unsubscribe } from './pubsub-subscribe.js';
import { payloadElement } from './notify.js';

export interface PubsubDeps {
  topics: TopicService;
  items: ItemService;
  /** The policy subject of an approved account (the gate has run), or null. */
  subjectOf: (bare: string) => PolicySubject | null;
  /** The controller's JID. */
  domain: string;
}

const PS = (f: string) => `${NS.PUBSUB}#${f}`;
/** Exactly the XEP-0060 features implemented here and in pubsub-owner/-subscribe, topics-disco, notify. */
export const PUBSUB_FEATURES: readonly string[] = [
  NS.PUBSUB,
  ...['access-whitelist', 'config-node', 'create-and-configure', 'create-nodes', 'delete-nodes', 'item-ids', 'meta-data',
    'multi-subscribe', 'persistent-items', 'publish', 'publish-options', 'publisher-affiliation', 'purge-nodes',
    'retract-items', 'retrieve-affiliations', 'retrieve-default', 'retrieve-default-sub', 'retrieve-items',
    'retrieve-subscriptions', 'rsm', 'subscribe', 'subscription-notifications', 'subscription-options'].map(PS),
  NS.RSM, NS.SHIM, `${NS.SHIM}#SubID`, `${NS.SHIM}#Grid-Seq`, `${NS.SHIM}#Grid-Published`,
];
/** Items retrieval without RSM answers at most this many (the newest), with a <set/>. */
const ITEMS_PAGE = 1000;

type Op = (d: PubsubDeps, s: PolicySubject, req: IqRequest, op: Element) => IqReply | Promise<IqReply>;
const SET: Record<string, Op> = { create, publish, retract, subscribe, unsubscribe, options: optionsSet };
const GET: Record<string, Op> = { items, affiliations, subscriptions, options, default: defaultOptions };

export function installPubsub(router: Router, disco: Disco, d: PubsubDeps): void {
  const route = (table: Record<string, Op>) => (req: IqRequest): IqReply | Promise<IqReply> => {
    const op = req.element.getChildElements()[0];
    if (!op) return fail('bad-request', 'empty <pubsub/>');
    const fn = Object.hasOwn(table, op.name) ? table[op.name] : undefined;
    if (!fn) return fail('feature-not-implemented', `<${op.name}/> is not offered in a ${req.type}`);
    const s = d.subjectOf(req.bare);
    if (!s) return fail('registration-required');
    return fn(d, s, req, op);
  };
  router.iq('set', NS.PUBSUB, 'pubsub', route(SET));
  router.iq('get', NS.PUBSUB, 'pubsub', route(GET));
  // XEP-0060 §12.4: a node's logout ends its temporary subscriptions (it sent us directed
  // presence, so the server tells us; RFC 6121 §4.6.3).
  router.onPresence((st, from) => {
    if (st.attrs.type !== 'unavailable') return;
    void d.topics.endTemporary(from);
  });
  installPubsubOwner(router, d);
  disco.addFeature(...PUBSUB_FEATURES);
}

export const reply = (...children: (Element | null)[]) => xml('pubsub', { xmlns: NS.PUBSUB }, ...children);

/** XEP-0060 §8.1: create (and configure). Instant nodes are not offered. */
async function create(d: PubsubDeps, s: PolicySubject, req: IqRequest, op: Element): Promise<IqReply> {
  const node = op.attrs.node;
  if (!node) return fail('feature-not-implemented', 'instant nodes are not offered: name the topic', 'instant-nodes');
  let patch = {};
  const configure = req.element.getChild('configure');
  if (configure?.getChild('x', NS.DATA)) {
    const form = findForm(configure, FORM_TYPES.nodeConfig);
    if (!form) return fail('not-acceptable', `the configure form's FORM_TYPE must be ${FORM_TYPES.nodeConfig}`);
    const p = parseNodeConfig(form.fields, d.topics.limits.maxItems);
    if (isFail(p)) return p;
    patch = p.value;
  }
  // The default max_items never exceeds the cap (limits.max_items).
  const cfg = completeConfig({ ...DEFAULT_CONFIG, maxItems: Math.min(DEFAULT_CONFIG.maxItems, d.topics.limits.maxItems) }, patch);
  if (isFail(cfg)) return cfg;
  const r = await d.topics.create(s, node, cfg.value);
  return isFail(r) ? r : true;
}

/** XEP-0060 §7.1: exactly one item with exactly one payload element. */
async function publish(d: PubsubDeps, s: PolicySubject, req: IqRequest, op: Element): Promise<IqReply> {
  const node = op.attrs.node;
  if (!node) return fail('nodeid-required');
  const items = op.getChildren('item');
  if (items.length === 0) return fail('item-required', 'publish one <item/> holding the payload');
  if (items.length > 1) return fail('bad-request', 'publish one <item/> per request');
  const item = items[0]!;
  const payloads = item.getChildElements();
  if (payloads.length === 0) return fail('payload-required');
  if (payloads.length > 1) return fail('invalid-payload', 'an item holds exactly one payload element');
  const pre = preconditions(d, s, node, req.element.getChild('publish-options'));
  if (pre) return pre;
  const root = payloads[0]!;
  // Serialising (escaping) a payload costs time in its size: one whose text alone is over
  // limits.payload_bytes is refused before (its serialisation is at least as long).
  const chars = textChars(root, d.items.payloadLimit());
  if (chars > d.items.payloadLimit()) return fail('payload-too-big', `payload holds more than ${d.items.payloadLimit()} characters of text; this service accepts at most ${d.items.payloadLimit()} bytes`);
  // The core notifies the subscribers (its 'published' event, broadcast.ts): here only the answer.
  const r = await d.items.publish(s, node, item.attrs.id || undefined, publishInput(root));
  if (isFail(r)) return r;
  return reply(xml('publish', { node }, xml('item', { id: r.value.item.id })));
}

/** Characters of text under `el`, counted until `stop` is passed. */
function textChars(el: Element, stop: number): number {
  let n = 0;
  const stack: Element[] = [el]; // no recursion: a payload may nest deep
  while (stack.length && n <= stop) {
    for (const c of stack.pop()!.children) {
      if (typeof c === 'string') n += c.length;
      else stack.push(c);
    }
  }
  return n;
}

/**
 * XEP-0060 §7.1.5: publish-options are preconditions on the node's configuration; a mismatch
 * is conflict + precondition-not-met. Never ignored: a publisher asking for whitelist must
 * not be told yes by silence.
 */
function preconditions(d: PubsubDeps, s: PolicySubject, node: string, el: Element | undefined): Fail | null {
  if (!el) return null;
  const form = findForm(el);
  if (!form) return null;
  if (form.formType !== FORM_TYPES.publishOptions) return fail('bad-request', `publish-options FORM_TYPE must be ${FORM_TYPES.publishOptions}`);
  const a = d.topics.check(s, 'publish', node);
  if (isFail(a)) return a;
  const actual: Record<string, string[]> = {
    'pubsub#access_model': ['whitelist'],
    'pubsub#persist_items': ['1', 'true'],
    'pubsub#max_items': [String(a.topic.maxItems)],
    'pubsub#notification_type': [a.topic.notificationType],
  };
  for (const [v, vals] of form.fields) {
    const want = actual[v];
    if (want && !(vals.length === 1 && want.includes(vals[0]!.trim()))) {
      return fail('precondition-not-met', `${v} of ${a.topic.name} is ${want[0]}, not ${vals.join(',')}`);
    }
  }
  return null;
}

/** XEP-0060 §7.2. */
async function retract(d: PubsubDeps, s: PolicySubject, _req: IqRequest, op: Element): Promise<IqReply> {
  const node = op.attrs.node;
  if (!node) return fail('nodeid-required');
  const items = op.getChildren('item');
  const id = items[0]?.attrs.id;
  if (items.length !== 1 || !id) return fail('item-required', 'retract one <item id=…/>');
  const notify = op.attrs.notify === 'true' || op.attrs.notify === '1';
  const r = await d.items.retract(s, node, id, { notify });
  return isFail(r) ? r : true;
}

/** XEP-0060 §6.5: all, the N newest (max_items), by id, or a XEP-0059 page (ids as markers). */
async function items(d: PubsubDeps, s: PolicySubject, req: IqRequest, op: Element): Promise<IqReply> {
  const node = op.attrs.node;
  if (!node) return fail('nodeid-required');
  const ids = op.getChildren('item').map((i) => i.attrs.id).filter((x): x is string => !!x);
  let max: number | undefined;
  if (op.attrs.max_items !== undefined) {
    if (!/^\d{1,7}$/.test(op.attrs.max_items) || Number(op.attrs.max_items) < 1) return fail('bad-request', 'max_items must be a positive integer');
    max = Number(op.attrs.max_items);
  }
  const rsm = parseRsm(req.element);
  if (isFail(rsm)) return rsm;
  const r = await d.items.items(s, node, { ...(max ? { max } : {}), ...(ids.length ? { ids } : {}) });
  if (isFail(r)) return r;
  const all = r.value.items;
  const paging = rsm ?? (all.length > ITEMS_PAGE && !ids.length ? { before: '', max: ITEMS_PAGE } : undefined);
  let list = all;
  let set: Element | null = null;
  if (paging) {
    const p = pageOf(all, (x) => x.item.id, { ...paging, max: Math.min(paging.max ?? ITEMS_PAGE, ITEMS_PAGE) }, ITEMS_PAGE);
    if (isFail(p)) return p;
    list = p.page;
    set = rsmSet(list[0]?.item.id, list[list.length - 1]?.item.id, all.length, list.length ? p.first : undefined);
  }
  // One answer must fit one stanza (the server closes the component stream otherwise):
  // keep the newest (unless paging forwards) and say so with RSM.
  const fitted = fitAnswer(list, (x) => Buffer.byteLength(x.payload), paging ? paging.before !== undefined : true);
  if (fitted.length < list.length) {
    const start = all.indexOf(fitted[0]!);
    list = fitted;
    set = rsmSet(list[0]?.item.id, list[list.length - 1]?.item.id, all.length, start);
  }
  const topic = r.value.topic;
  return reply(
    xml('items', { node }, ...list.map((x) => xml('item', { id: x.item.id, publisher: x.item.publisher }, payloadElement(topic.contentType, x.payload)))),
    set,
  );
}

/** XEP-0060 §5.7: owner for the creator, publisher for registered publishers (§6). */
async function affiliations(d: PubsubDeps, s: PolicySubject, req: IqRequest, op: Element): Promise<IqReply> {
  const rsm = parseRsm(req.element);
  if (isFail(rsm)) return rsm;
  const node = op.attrs.node;
  let topics: Topic[];
  if (node) {
    const a = d.topics.check(s, 'discover', node);
    if (isFail(a)) return a;
    topics = [a.topic];
  } else topics = d.topics.list(s);
  const out: { node: string; affiliation: string }[] = [];
  for (const t of topics) {
    const aff = t.owner === s.jid ? 'owner' : t.publishers.includes(s.jid) ? 'publisher' : null;
    if (aff) out.push({ node: t.name, affiliation: aff });
  }
  const p = await listPage(out, (x) => x.node, rsm, (x) => xml('affiliation', x));
  if (isFail(p)) return p;
  return reply(xml('affiliations', node ? { node } : {}, ...p.entries), p.set);
}
