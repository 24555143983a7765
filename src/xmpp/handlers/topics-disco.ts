// The topic directory over XEP-0030 (PROTOCOL §3): disco#info of a topic node (meta-data and
// grid forms, XEP-0128), disco#items of the controller (topics, XEP-0059 paged) and of a
// topic node (item ids, XEP-0060 §5.5). Every answer goes through topics.check (§4).
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { fail, isFail } from '../../result.js';
import type { TopicService } from '../../topics/service.js';
import type { ItemService } from '../../topics/items.js';
import type { Topic } from '../../topics/types.js';
import type { PolicySubject } from '../../policy/types.js';
import { filterFieldSpecs } from '../../filters/index.js';
import { pubsubType } from '../../payloads/index.js';
import { NS } from '../ns.js';
import { FORM_TYPES } from '../form-types.js';
import { buildForm } from '../forms.js';
import type { IqReply, IqRequest } from '../router.js';
import type { DiscoProvider } from './disco.js';
import type { AdHocCommands } from './commands.js';
import { parseRsm } from '../xmlnode.js';
import { listPage } from '../paging.js';

/** Topics in a page when a <set/> gives no <max/> (100), and the cap on <max/>; cut to fit. */
const PAGING = { defaultPage: 100, maxPage: 1000 };

export interface TopicsDiscoDeps {
  topics: TopicService;
  items: ItemService;
  /** The policy subject of an approved account (the gate has run), or null. */
  subjectOf: (bare: string) => PolicySubject | null;
  /** The controller's JID, used as the `jid` of listed topics. */
  domain: string;
  /** XEP-0050: command list and command node info (administrators only). */
  commands?: Pick<AdHocCommands, 'commandItems' | 'commandInfo'>;
}

export function discoProvider(d: TopicsDiscoDeps): DiscoProvider {
  const subjectOr = (bare: string) => d.subjectOf(bare) ?? fail('registration-required');
  return {
    nodeInfo(req, node) {
      const info = d.commands?.commandInfo(req.bare, node);
      if (info) return info;
      const s = subjectOr(req.bare);
      if (isFail(s)) return s;
      const a = d.topics.check(s, 'discover', node);
      if (isFail(a)) return a;
      return topicInfo(d.topics, a.topic, node, a.subtopic);
    },
    items(req, node) {
      if (node === NS.COMMANDS) return d.commands ? d.commands.commandItems(req.bare, d.domain) : xml('query', { xmlns: NS.DISCO_ITEMS, node });
      const s = subjectOr(req.bare);
      if (isFail(s)) return s;
      return node ? nodeItems(d, s, req, node) : topicList(d, s, req);
    },
  };
}

/** disco#info of a topic (or subtopic) node: identity pubsub/leaf and two XEP-0128 forms. */
export function topicInfo(topics: TopicService, topic: Topic, node: string, subtopic: boolean): Element {
  const subs = topics.subscriptionsOf(topic.name).filter((s) => !subtopic || s.subtopic === node);
  const type = pubsubType(topic.contentType, topic.payloadNamespace);
  const meta = buildForm('result', FORM_TYPES.metaData, [
    { var: 'pubsub#title', type: 'text-single', values: topic.title ? [topic.title] : [] },
    { var: 'pubsub#description', type: 'text-single', values: topic.description ? [topic.description] : [] },
    { var: 'pubsub#type', type: 'text-single', values: type ? [type] : [] },
    { var: 'pubsub#publisher', type: 'jid-multi', values: topic.publishers },
    { var: 'pubsub#owner', type: 'jid-multi', values: topic.owner ? [topic.owner] : [] },
    { var: 'pubsub#num_subscribers', type: 'text-single', values: [String(subs.length)] },
    { var: 'pubsub#access_model', type: 'list-single', values: ['whitelist'] },
    { var: 'pubsub#max_items', type: 'text-single', values: [String(topic.maxItems)] },
    ...(topic.itemExpire ? [{ var: 'pubsub#item_expire', type: 'text-single' as const, values: [String(topic.itemExpire)] }] : []),
    { var: 'pubsub#creation_date', type: 'text-single', values: [topic.createdAt] },
  ]);
  const grid = buildForm('result', FORM_TYPES.topic, [
    { var: 'content-type', type: 'text-single', values: [topic.contentType] },
    { var: 'filtering', type: 'list-single', values: [topic.filtering] },
    { var: 'filter-fields', type: 'list-multi', values: filterFieldSpecs(topic).map((f) => f.name) },
  ]);
  return xml('query', { xmlns: NS.DISCO_INFO, node },
    xml('identity', { category: 'pubsub', type: 'leaf', ...(topic.title ? { name: topic.title } : {}) }),
    xml('feature', { var: NS.PUBSUB }),
    xml('feature', { var: NS.DISCO_INFO }),
    xml('feature', { var: NS.DISCO_ITEMS }),
    meta, grid);
}

/** disco#items of the controller: the topics this node may discover, XEP-0059 paged. */
async function topicList(d: TopicsDiscoDeps, s: PolicySubject, req: IqRequest): Promise<IqReply> {
  const all = d.topics.list(s);
  const rsm = parseRsm(req.element);
  if (isFail(rsm)) return rsm;
  const item = (t: Topic) => xml('item', { jid: d.domain, node: t.name, ...(t.title ? { name: t.title } : {}) });
  // <max>0</max> asks for the count only (XEP-0059 §2.6).
  const p = await listPage(all, (t) => t.name, rsm, item, PAGING);
  if (isFail(p)) return p;
  return xml('query', { xmlns: NS.DISCO_ITEMS }, ...p.entries, p.set);
}

/**
 * disco#items of a topic node: its item ids as `name` (XEP-0060 §5.5). Seeing the node needs
 * `discover`; its item ids are listed only to nodes that may also query it (and only those
 * items their TLP cap lets through), so discovery never leaks what an item is.
 */
async function nodeItems(d: TopicsDiscoDeps, s: PolicySubject, req: IqRequest, node: string): Promise<IqReply> {
  const a = d.topics.check(s, 'discover', node);
  if (isFail(a)) return a;
  const rsm = parseRsm(req.element);
  if (isFail(rsm)) return rsm;
  const r = await d.items.items(s, node, {});
  const ids = isFail(r) ? [] : r.value.items.map((x) => x.item.id);
  const p = await listPage(ids, (id) => id, rsm, (id) => xml('item', { jid: d.domain, name: id }));
  if (isFail(p)) return p;
  return xml('query', { xmlns: NS.DISCO_ITEMS, node }, ...p.entries, p.set);
}
