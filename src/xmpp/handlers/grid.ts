// The grid namespace urn:xmpp-grid:0 (PROTOCOL §6–§8): register as publisher, list
// subtopics, the filtered query over stored items (XEP-0059 paged by seq) and directed-query
// authorization. What XEP-0060 does not cover, and nothing more.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { fail, isFail, type Fail } from '../../result.js';
import type { TopicService } from '../../topics/service.js';
import type { ItemService } from '../../topics/items.js';
import { parseDateTime, parseSeq, type QueryRequest } from '../../topics/query.js';
import type { SubtopicView } from '../../topics/types.js';
import { OPERATIONS, type Operation, type PolicySubject } from '../../policy/types.js';
import { NS } from '../ns.js';
import { findForm } from '../forms.js';
import type { IqReply, IqRequest, Router } from '../router.js';
import type { Disco } from './disco.js';
import { fitAnswer, parseRsm, rsmSet, type RsmRequest } from '../xmlnode.js';
import { filterForm, payloadElement } from './notify.js';
import { listPage } from '../paging.js';

export const QUERY_FORM_TYPE = 'urn:xmpp-grid:0#query';

export interface GridDeps {
  topics: TopicService;
  items: ItemService;
  /** The policy subject of an approved account, or null (unknown, pending, revoked): deny. */
  subjectOf: (bare: string) => PolicySubject | null;
}

type Handler = (d: GridDeps, s: PolicySubject, req: IqRequest) => IqReply | Promise<IqReply>;

export function installGrid(router: Router, disco: Disco, d: GridDeps): void {
  const wrap = (fn: Handler) => (req: IqRequest) => {
    const s = d.subjectOf(req.bare);
    return s ? fn(d, s, req) : fail('registration-required');
  };
  router.iq('set', NS.GRID, 'publisher', wrap(publisher));
  router.iq('get', NS.GRID, 'subtopics', wrap(subtopics));
  router.iq('get', NS.GRID, 'query', wrap(query));
  router.iq('get', NS.GRID, 'authorize', wrap(authorize));
  disco.addFeature(NS.GRID);
}

export function subtopicEl(v: SubtopicView): Element {
  return xml('subtopic', { node: v.node, subscribers: String(v.subscribers) }, filterForm(v.filter));
}

/** §6: checks `publish`, gives the publisher affiliation, lists the current subtopics. */
async function publisher(d: GridDeps, s: PolicySubject, req: IqRequest): Promise<IqReply> {
  const node = req.element.attrs.node;
  if (!node) return fail('nodeid-required');
  const rsm = parseRsm(req.element);
  if (isFail(rsm)) return rsm;
  const r = await d.topics.registerPublisher(s, node);
  if ('fail' in r) return r;
  return subtopicList('publisher', node, r.value, rsm);
}

/** The §6 list, XEP-0059 paged by subtopic node id so that it always fits one stanza. */
async function subtopicList(name: 'publisher' | 'subtopics', node: string, list: SubtopicView[], rsm: RsmRequest | undefined): Promise<IqReply> {
  const p = await listPage(list, (v) => v.node, rsm, subtopicEl);
  if (isFail(p)) return p;
  return xml(name, { xmlns: NS.GRID, node }, ...p.entries, p.set);
}

/** §6: the same list without registering (operation `discover`). */
function subtopics(d: GridDeps, s: PolicySubject, req: IqRequest): IqReply | Promise<IqReply> {
  const node = req.element.attrs.node;
  if (!node) return fail('nodeid-required');
  const rsm = parseRsm(req.element);
  if (isFail(rsm)) return rsm;
  const a = d.topics.check(s, 'discover', node);
  if ('fail' in a) return a;
  return subtopicList('subtopics', node, d.topics.subtopics(a.topic.name), rsm);
}

/**
 * The §7 form and RSM <set/> → the core's QueryRequest; every malformed part is bad-request
 * (checked with the core's own parsers, so before the core is asked, as before).
 */
export function parseQuery(el: Element): QueryRequest | Fail {
  const form = findForm(el);
  if (!form || form.formType !== QUERY_FORM_TYPE) return fail('bad-request', `a form with FORM_TYPE ${QUERY_FORM_TYPE} is required`);
  const q: QueryRequest & { filter: Record<string, string[]> } = { filter: {} };
  for (const [v, values] of form.fields) {
    if (v === 'FORM_TYPE') continue;
    if (v.startsWith('filter.')) {
      q.filter[v.slice('filter.'.length)] = values;
      continue;
    }
    // One value each: a second one is as malformed as a bad one.
    const one = values.length === 1 ? values[0]! : '';
    if (v === 'after_seq') {
      const seq = parseSeq(one, 'after_seq');
      if (isFail(seq)) return seq;
      q.afterSeq = seq;
    } else if (v === 'added_after') {
      const t = parseDateTime(one, 'added_after');
      if (isFail(t)) return t;
      q.addedAfter = one.trim();
    } else return fail('bad-request', `unknown query field ${v.slice(0, 100)} (filter.*, after_seq, added_after)`);
  }
  const rsm = parseRsm(el);
  if (isFail(rsm)) return rsm;
  if (rsm) {
    if (rsm.before !== undefined || rsm.index !== undefined) return fail('bad-request', 'page forward with RSM <after/> (a seq); <before/> and <index/> are not offered');
    if (rsm.after !== undefined) {
      if (q.afterSeq !== undefined) return fail('bad-request', 'give after_seq or RSM <after/>, not both');
      const seq = parseSeq(rsm.after, 'RSM <after/> (a seq)');
      if (isFail(seq)) return seq;
      q.afterSeq = seq;
    }
    if (rsm.max !== undefined) q.limit = rsm.max;
  }
  return q;
}

/** §7: the core checks `query`, pages and cuts; here the answer is cut to one stanza. */
async function query(d: GridDeps, s: PolicySubject, req: IqRequest): Promise<IqReply> {
  const node = req.element.attrs.node;
  if (!node) return fail('nodeid-required');
  const q = parseQuery(req.element);
  if (isFail(q)) return q;
  const r = await d.items.query(s, node, q);
  if (isFail(r)) return r;
  const { topic, count, truncated } = r.value;
  // Cut to what one stanza can carry; the client pages on from <last/> (RSM).
  const items = fitAnswer(r.value.items, (x) => Buffer.byteLength(x.payload));
  const first = items[0]?.item.seq;
  const last = items[items.length - 1]?.item.seq;
  return xml('query', { xmlns: NS.GRID, node, ...(truncated ? { truncated: 'true' } : {}) },
    ...items.map((x) => xml('item', { id: x.item.id, seq: String(x.item.seq), published: x.item.published, publisher: x.item.publisher }, payloadElement(topic.contentType, x.payload))),
    rsmSet(first === undefined ? undefined : String(first), last === undefined ? undefined : String(last), count));
}

/** §8: only publishers of the topic may ask; unknown or unapproved JIDs are denied. */
function authorize(d: GridDeps, s: PolicySubject, req: IqRequest): IqReply {
  const { jid, node, operation } = req.element.attrs;
  if (!node) return fail('nodeid-required');
  if (!jid) return fail('bad-request', 'authorize needs the jid attribute');
  if (!operation || !(OPERATIONS as readonly string[]).includes(operation)) return fail('bad-request', `operation must be one of ${OPERATIONS.join(', ')}`);
  // `publish`, not only `discover`: a registered publisher whose permission was withdrawn must
  // not keep probing what other nodes may do (the affiliation list is not re-checked).
  const a = d.topics.check(s, 'publish', node);
  if ('fail' in a) return a;
  if (!a.topic.publishers.includes(s.jid)) return fail('forbidden', `only registered publishers of ${a.topic.name} may ask (register with <publisher/>)`);
  const target = d.subjectOf(jid.split('/')[0]!.toLowerCase());
  const permit = target !== null && !('fail' in d.topics.check(target, operation as Operation, node));
  return xml('authorize', { xmlns: NS.GRID, jid, node, operation, decision: permit ? 'permit' : 'deny' });
}
