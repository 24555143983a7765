// XEP-0060 requests of a grid node and the readers of their answers (PROTOCOL §5, §6):
// subscribe (and configure, §6.3.7), unsubscribe, subscriptions, publish, register-publisher,
// subtopics.
import xml from '@xmpp/xml';
import type { Element } from '@xmpp/xml';
import type { Filter, SubtopicInfo, Subscription } from './grid-types.js';
import { buildForm, findForm, first } from './forms.js';
import { FORM, NS, clark } from './ns.js';
import { filterFields, filterOfFields } from './filters.js';
import { protocolError } from './errors.js';

const pubsub = (...children: Element[]) => xml('pubsub', { xmlns: NS.PUBSUB }, ...children);

/** `temporary`: ask for XEP-0060 §12.4 `pubsub#expire` = `presence` (ends at this session's logout). */
export function subscribeIq(to: string, topic: string, jid: string, filter?: Filter, temporary = false): Element {
  const fields = [...filterFields(filter, 'clark'), ...(temporary ? [{ var: 'pubsub#expire', values: ['presence'] }] : [])];
  return xml('iq', { type: 'set', to }, pubsub(
    xml('subscribe', { node: topic, jid }),
    ...(fields.length ? [xml('options', {}, buildForm('submit', FORM.SUBSCRIBE_OPTIONS, fields))] : [])));
}

/** The `<subscription/>` (and `<options/>` with the subtopic) of a subscribe answer. */
export function parseSubscribeReply(result: Element, topic: string, filter?: Filter, temporary = false): Subscription {
  const ps = result.getChild('pubsub', NS.PUBSUB);
  const sub = ps?.getChild('subscription');
  if (!sub) throw protocolError(`the subscribe answer for ${topic} holds no <subscription/>`);
  if (sub.attrs.subscription && sub.attrs.subscription !== 'subscribed') {
    throw protocolError(`subscription to ${topic} is ${sub.attrs.subscription}, not subscribed`);
  }
  const subtopic = first(findForm(ps?.getChild('options'), FORM.SUBSCRIBE_OPTIONS), clark('subtopic'));
  return { topic: sub.attrs.node ?? topic, subid: sub.attrs.subid ?? '', ...(subtopic ? { subtopic } : {}), ...(filter ? { filter } : {}), ...(temporary ? { temporary } : {}) };
}

export function unsubscribeIq(to: string, topic: string, jid: string, subid?: string): Element {
  return xml('iq', { type: 'set', to }, pubsub(xml('unsubscribe', { node: topic, jid, ...(subid ? { subid } : {}) })));
}

export interface ListedSubscription { topic: string; jid: string; subid?: string; subscription: string }

export function subscriptionsIq(to: string, topic?: string): Element {
  return xml('iq', { type: 'get', to }, pubsub(xml('subscriptions', topic ? { node: topic } : {})));
}

export function parseSubscriptions(result: Element): ListedSubscription[] {
  const list = result.getChild('pubsub', NS.PUBSUB)?.getChild('subscriptions');
  return (list?.getChildren('subscription') ?? []).map((s) => ({
    topic: s.attrs.node ?? list?.attrs.node ?? '', jid: s.attrs.jid ?? '',
    ...(s.attrs.subid ? { subid: s.attrs.subid } : {}), subscription: s.attrs.subscription ?? 'subscribed',
  }));
}

export function publishIq(to: string, topic: string, payload: Element, id?: string): Element {
  return xml('iq', { type: 'set', to }, pubsub(xml('publish', { node: topic }, xml('item', id ? { id } : {}, payload))));
}

/** The item id of a publish answer; XEP-0060 §7.1.2 lets a service omit it when we gave one. */
export function parsePublishReply(result: Element, requested?: string): string {
  const id = result.getChild('pubsub', NS.PUBSUB)?.getChild('publish')?.getChild('item')?.attrs.id ?? requested;
  if (!id) throw protocolError('the publish answer names no item id');
  return id;
}

export function retractIq(to: string, topic: string, id: string, notify = true): Element {
  return xml('iq', { type: 'set', to }, pubsub(xml('retract', { node: topic, ...(notify ? { notify: 'true' } : {}) }, xml('item', { id }))));
}

export function registerPublisherIq(to: string, topic: string): Element {
  return xml('iq', { type: 'set', to }, xml('publisher', { xmlns: NS.GRID, node: topic }));
}

export function subtopicsIq(to: string, topic: string): Element {
  return xml('iq', { type: 'get', to }, xml('subtopics', { xmlns: NS.GRID, node: topic }));
}

/** `<publisher/>` or `<subtopics/>` holding `<subtopic node subscribers>` + filter form. */
export function parseSubtopics(result: Element): SubtopicInfo[] {
  const holder = result.getChild('publisher', NS.GRID) ?? result.getChild('subtopics', NS.GRID);
  return (holder?.getChildren('subtopic') ?? []).map((s) => {
    const form = findForm(s, FORM.FILTER);
    const n = Number(s.attrs.subscribers);
    return { node: s.attrs.node ?? '', ...(Number.isFinite(n) && s.attrs.subscribers ? { subscribers: n } : {}),
      filter: form ? filterOfFields(form.fields) : {} };
  });
}
