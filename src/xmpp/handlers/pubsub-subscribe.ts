// XEP-0060 subscriber use cases (§6) on the topic core: subscribe (and configure, §6.3.7,
// carrying the grid filter), unsubscribe, subscription options (§6.3, §6.4) and the
// subscriptions list (§5.6). Filter fields travel in Clark notation: {urn:xmpp-grid:0}filter.*.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { fail, isFail, type Fail } from '../../result.js';
import type { Subscription, Topic } from '../../topics/types.js';
import { sameJid } from '../../jid.js';
import type { PolicySubject } from '../../policy/types.js';
import type { Filter } from '../../filters/types.js';
import { canonicalJson, filterFieldSpecs, parseFilter } from '../../filters/index.js';
import { NS } from '../ns.js';
import { FORM_TYPES } from '../form-types.js';
import { bareJid } from '../../jid.js';
import { buildForm, findForm, type FieldSpec } from '../forms.js';
import type { IqReply, IqRequest } from '../router.js';
import { grid, parseRsm } from '../xmlnode.js';
import { listPage } from '../paging.js';
import type { PubsubDeps } from './pubsub.js';

const FILTER_PREFIX = grid('filter.');
const reply = (...children: (Element | null)[]) => xml('pubsub', { xmlns: NS.PUBSUB }, ...children);

/**
 * The `{urn:xmpp-grid:0}filter.*` fields of a subscribe_options form → names without the
 * prefix. Other grid fields are errors (PROTOCOL preamble); pubsub# fields are ignored.
 */
export function filterFieldsOf(form: { formType: string | undefined; fields: Map<string, string[]> }): Record<string, string[]> | Fail {
  if (form.formType !== FORM_TYPES.subscribeOptions) return fail('invalid-options', `the options form's FORM_TYPE must be ${FORM_TYPES.subscribeOptions}`);
  const out: Record<string, string[]> = {};
  for (const [v, values] of form.fields) {
    if (v.startsWith(FILTER_PREFIX)) {
      const name = v.slice(FILTER_PREFIX.length);
      if (!name) return fail('invalid-options', `field ${v} names no filter`);
      // §5: an empty field (no <value/>, or an empty one) is refused, naming it (parseFilter
      // says which): a filter field is set with values or left out of the form.
      out[name] = values;
    } else if (v.startsWith(`{${NS.GRID}}`) && v !== grid('subtopic')) {
      return fail('invalid-options', `unknown grid field ${v.slice(0, 100)}: filter fields are {urn:xmpp-grid:0}filter.<name>`);
    }
  }
  return out;
}

/** The options form of a topic (§6.3.2): every filter field list-multi/text-multi, with values. */
export function optionsForm(type: 'form' | 'result', topic: Topic, filter: Filter | null, subtopic?: string | null): Element {
  const fields: FieldSpec[] = filterFieldSpecs(topic).map((f) => ({
    var: grid(`filter.${f.name}`), type: f.formType, label: f.path ? `filter on ${f.path}` : `filter on ${f.name}`,
    ...(f.options ? { options: [...f.options] } : {}), values: filter?.[f.name] ?? [],
  }));
  if (subtopic) fields.push({ var: grid('subtopic'), type: 'text-single', values: [subtopic] });
  return buildForm(type, FORM_TYPES.subscribeOptions, fields);
}

function subscriptionEl(s: Subscription): Element {
  return xml('subscription', { node: s.topic, jid: s.jid, subid: s.subid, subscription: 'subscribed' });
}

/** XEP-0060 §6.1 and §6.3.7. */
export async function subscribe(d: PubsubDeps, s: PolicySubject, req: IqRequest, op: Element): Promise<IqReply> {
  const node = op.attrs.node;
  if (!node) return fail('nodeid-required');
  const jid = op.attrs.jid;
  if (!jid) return fail('invalid-jid', 'subscribe needs the jid attribute (your bare or full JID)');
  // XEP-0060 §6.1.3.1: a node subscribes its bare JID or the full JID it sends from, never
  // another resource of its account (that process holds its own subscriptions). The node's
  // errors come first, as in the core (a hidden topic stays item-not-found).
  if (jid.includes('/') && !sameJid(jid, req.from)) {
    const a = d.topics.check(s, 'subscribe', node);
    return isFail(a) ? a : fail('invalid-jid', `a full JID must be the one you send from (${req.from}); or subscribe your bare JID`);
  }
  let fields: Record<string, string[]> | null = null;
  let expire: 'presence' | undefined;
  const form = findForm(req.element.getChild('options'));
  if (form) {
    const f = filterFieldsOf(form);
    if (isFail(f)) return f;
    fields = Object.keys(f).length ? f : null;
    // XEP-0060 §12.4 temporary subscriptions; other pubsub#expire values (a date-time) are not offered.
    if (form.fields.get('pubsub#expire')?.[0]?.trim() === 'presence') expire = 'presence';
  }
  const r = await d.topics.subscribe(s, node, jid, fields, expire ? { expire } : {});
  if (isFail(r)) return r;
  const sub = r.value.subscription;
  const t = d.topics.topic(sub.topic);
  const opts = sub.filter && t
    ? xml('options', { node: sub.topic, jid: sub.jid, subid: sub.subid }, optionsForm('result', t, sub.filter, sub.subtopic))
    : null;
  return reply(subscriptionEl(sub), opts);
}

/** XEP-0060 §6.2. */
export async function unsubscribe(d: PubsubDeps, s: PolicySubject, _req: IqRequest, op: Element): Promise<IqReply> {
  const node = op.attrs.node;
  if (!node) return fail('nodeid-required');
  const jid = op.attrs.jid;
  if (!jid) return fail('invalid-jid', 'unsubscribe needs the jid attribute');
  const r = await d.topics.unsubscribe(s, node, jid, op.attrs.subid || undefined);
  return isFail(r) ? r : true;
}

/** The one subscription an options request means (§6.3.4 errors: not-subscribed, subid-required, invalid-subid). */
function findSubscription(d: PubsubDeps, s: PolicySubject, op: Element): { topic: Topic; sub: Subscription } | Fail {
  const node = op.attrs.node;
  if (!node) return fail('nodeid-required');
  const jid = op.attrs.jid;
  if (!jid) return fail('invalid-jid', 'options needs the jid attribute');
  const a = d.topics.check(s, 'discover', node);
  if (isFail(a)) return a;
  if (bareJid(jid) !== s.jid) return fail('forbidden', 'only your own subscriptions');
  const mine = d.topics.subscriptionsOfOwner(s.jid, a.topic.name).filter((x) => x.jid === jid);
  if (!mine.length) return fail('not-subscribed');
  const subid = op.attrs.subid;
  if (subid) {
    const sub = mine.find((x) => x.subid === subid);
    return sub ? { topic: a.topic, sub } : fail('invalid-subid');
  }
  if (mine.length > 1) return fail('subid-required');
  return { topic: a.topic, sub: mine[0]! };
}

/** XEP-0060 §6.3.2: the options form with the subscription's current filter. */
export function options(d: PubsubDeps, s: PolicySubject, _req: IqRequest, op: Element): IqReply {
  const f = findSubscription(d, s, op);
  if (isFail(f)) return f;
  return reply(xml('options', { node: f.sub.topic, jid: f.sub.jid, subid: f.sub.subid }, optionsForm('form', f.topic, f.sub.filter)));
}

/**
 * XEP-0060 §6.3.5. The filter decides the subscription's subtopic and so its identity: a
 * changed filter would need a new subid, which an options result cannot carry. Submitting
 * the same filter succeeds; a different one is feature-not-implemented with the way to do it.
 */
export function optionsSet(d: PubsubDeps, s: PolicySubject, _req: IqRequest, op: Element): IqReply {
  const f = findSubscription(d, s, op);
  if (isFail(f)) return f;
  const form = findForm(op);
  if (!form) return fail('bad-request', 'options needs a jabber:x:data form');
  const fields = filterFieldsOf(form);
  if (isFail(fields)) return fields;
  let filter: Filter | null = null;
  if (Object.keys(fields).length) {
    const p = parseFilter(fields, f.topic, d.topics.limits.filter);
    if (isFail(p)) return p;
    filter = p.value;
  }
  const same = (filter ? canonicalJson(filter) : null) === (f.sub.filter ? canonicalJson(f.sub.filter) : null);
  if (same) return true;
  return fail('feature-not-implemented', 'a filter cannot change in place: subscribe with the new filter, then unsubscribe this subid', 'subscription-options');
}

/** XEP-0060 §6.4: default subscription options of a topic. */
export function defaultOptions(d: PubsubDeps, s: PolicySubject, _req: IqRequest, op: Element): IqReply {
  const node = op.attrs.node;
  if (!node) return fail('nodeid-required', 'default options are per topic: name the node');
  const a = d.topics.check(s, 'discover', node);
  if (isFail(a)) return a;
  return reply(xml('default', { node: a.topic.name }, optionsForm('form', a.topic, null)));
}

/** XEP-0060 §5.6: the requester's subscriptions, all or on one node. */
export async function subscriptions(d: PubsubDeps, s: PolicySubject, req: IqRequest, op: Element): Promise<IqReply> {
  const node = op.attrs.node;
  const rsm = parseRsm(req.element);
  if (isFail(rsm)) return rsm;
  let list: Subscription[];
  if (node) {
    const a = d.topics.check(s, 'discover', node);
    if (isFail(a)) return a;
    list = d.topics.subscriptionsOfOwner(s.jid, a.topic.name);
  } else list = d.topics.subscriptionsOfOwner(s.jid);
  // XEP-0059 paged by subid, so 1,000 subscriptions always answer within one stanza.
  const p = await listPage(list, (x) => x.subid, rsm, subscriptionEl);
  if (isFail(p)) return p;
  return reply(xml('subscriptions', node ? { node } : {}, ...p.entries), p.set);
}
