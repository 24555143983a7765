// Topic directory (PROTOCOL §3): disco#items lists the topics a node may discover; disco#info
// on each gives title, content type, filtering, filter fields and publishers.
import xml from '@xmpp/xml';
import type { Element } from '@xmpp/xml';
import type { GridLimits, TopicInfo } from './grid-types.js';
import { findForm, first } from './forms.js';
import { FORM, NS } from './ns.js';

export function discoItemsIq(to: string, after?: string): Element {
  return xml('iq', { type: 'get', to }, xml('query', { xmlns: NS.DISCO_ITEMS },
    after !== undefined ? xml('set', { xmlns: NS.RSM }, xml('after', {}, after)) : null));
}

export interface DiscoPage { items: { node: string; name?: string }[]; last?: string; count?: number }

export function parseDiscoItems(result: Element): DiscoPage {
  const q = result.getChild('query', NS.DISCO_ITEMS);
  const items = (q?.getChildren('item') ?? []).filter((i) => i.attrs.node)
    .map((i) => ({ node: i.attrs.node!, ...(i.attrs.name ? { name: i.attrs.name } : {}) }));
  const set = q?.getChild('set', NS.RSM);
  const last = set?.getChildText('last') ?? undefined;
  const count = set?.getChildText('count');
  return { items, ...(last ? { last } : {}), ...(count && /^\d+$/.test(count) ? { count: Number(count) } : {}) };
}

export function discoInfoIq(to: string, node: string): Element {
  return xml('iq', { type: 'get', to }, xml('query', { xmlns: NS.DISCO_INFO, node }));
}

export function parseTopicInfo(result: Element, node: string, name?: string): TopicInfo {
  const q = result.getChild('query', NS.DISCO_INFO);
  const meta = findForm(q, FORM.META);
  const grid = findForm(q, FORM.TOPIC);
  const subs = first(meta, 'pubsub#num_subscribers');
  const pick = (k: keyof TopicInfo, v: string | undefined) => (v !== undefined && v !== '' ? { [k]: v } : {});
  return {
    node,
    ...pick('name', name),
    ...pick('title', first(meta, 'pubsub#title')),
    ...pick('description', first(meta, 'pubsub#description')),
    ...pick('payloadType', first(meta, 'pubsub#type')),
    ...pick('contentType', first(grid, 'content-type')),
    ...pick('filtering', first(grid, 'filtering')),
    filterFields: grid?.fields.get('filter-fields') ?? [],
    publishers: meta?.fields.get('pubsub#publisher') ?? [],
    ...(subs && /^\d+$/.test(subs) ? { subscribers: Number(subs) } : {}),
  } as TopicInfo;
}

/** The controller's own disco#info (no node): its limits form (XEP-0128), when it sends one. */
export function controllerInfoIq(to: string): Element {
  return xml('iq', { type: 'get', to }, xml('query', { xmlns: NS.DISCO_INFO }));
}

export function parseLimits(result: Element): GridLimits {
  const v = first(findForm(result.getChild('query', NS.DISCO_INFO), FORM.LIMITS), 'payload_bytes');
  const n = v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
  return n ? { payloadBytes: n } : {};
}
