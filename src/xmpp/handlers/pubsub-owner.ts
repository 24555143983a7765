// XEP-0060 owner use cases (§8) on the topic core: configure (get/set), default
// configuration, delete, purge; and the `pubsub#node_config` form both ways, which create
// (§8.1.3, "create and configure") shares.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { fail, ok, isFail, type Fail, type Result } from '../../result.js';
import type { TopicConfig } from '../../topics/types.js';
import { configOf } from '../../topics/config.js';
import { checkDeclaredFields } from '../../filters/index.js';
import { CONTENT_TYPES, STIX_CONTENT_TYPE, normaliseContentType, pubsubType } from '../../payloads/index.js';
import { NS } from '../ns.js';
import { FORM_TYPES } from '../form-types.js';
import { buildForm, findForm } from '../forms.js';
import type { IqReply, IqRequest, Router } from '../router.js';
import { grid } from '../xmlnode.js';
import { MAX_ITEM_EXPIRE } from '../../policy/schema-topic.js';
import type { PubsubDeps } from './pubsub.js';

export const DEFAULT_MAX_ITEMS = 1000;
export const MAX_MAX_ITEMS = 1_000_000;
const TEXT_MAX = 1024;

export const DEFAULT_CONFIG: TopicConfig = {
  contentType: STIX_CONTENT_TYPE, filtering: 'controller', filterFields: {}, maxItems: DEFAULT_MAX_ITEMS, notificationType: 'normal',
};

const GRID_FIELDS = new Set(['content_type', 'filtering', 'filter_fields', 'payload_namespace'].map(grid));
const SINGLE_FIELDS = [
  'pubsub#title', 'pubsub#description', 'pubsub#max_items', 'pubsub#item_expire', 'pubsub#notification_type', 'pubsub#access_model', 'pubsub#type',
  grid('content_type'), grid('filtering'), grid('payload_namespace'),
];
const bad = (field: string, text: string): Fail => fail('not-acceptable', `node configuration field ${field}: ${text}`);

function single(fields: Map<string, string[]>, v: string): string | undefined | Fail {
  const vals = fields.get(v);
  if (!vals || vals.length === 0) return undefined; // an empty field (XEP-0004 allows it) sets nothing
  if (vals.length !== 1) return bad(v, 'takes exactly one value');
  const s = vals[0]!.trim();
  if (s.length > TEXT_MAX) return bad(v, `is longer than ${TEXT_MAX} characters`);
  return s;
}

/**
 * The submitted `pubsub#node_config` fields → a configuration patch. Fields we do not know
 * are ignored (XEP-0004 §3.1), except unknown or malformed grid fields (PROTOCOL preamble).
 * XEP-0060 §8.2.5: a form that cannot be processed is `not-acceptable`.
 */
export function parseNodeConfig(fields: Map<string, string[]>, maxItemsCap = MAX_MAX_ITEMS): Result<Partial<TopicConfig>> {
  const patch: Partial<TopicConfig> = {};
  for (const v of fields.keys()) {
    if (v.startsWith(`{${NS.GRID}}`) && !GRID_FIELDS.has(v)) return bad(v, 'is not a grid node configuration field (content_type, filtering, filter_fields, payload_namespace)');
  }
  const vals = new Map<string, string>();
  for (const v of SINGLE_FIELDS) {
    const s = single(fields, v);
    if (isFail(s)) return s;
    if (s !== undefined) vals.set(v, s);
  }
  const title = vals.get('pubsub#title');
  if (title !== undefined) patch.title = title;
  const description = vals.get('pubsub#description');
  if (description !== undefined) patch.description = description;
  const max = vals.get('pubsub#max_items');
  if (max !== undefined) {
    const n = max === 'max' ? maxItemsCap : /^\d{1,7}$/.test(max) ? Number(max) : NaN;
    if (!(n >= 1 && n <= maxItemsCap)) return bad('pubsub#max_items', `must be an integer from 1 to ${maxItemsCap} (the cap, limits.max_items), or max`);
    patch.maxItems = n;
  }
  // XEP-0060 §16.4.4: seconds after which items are purged; 0 (or max: no limit but ours) = never.
  const expire = vals.get('pubsub#item_expire');
  if (expire !== undefined) {
    const n = expire === 'max' ? 0 : /^\d{1,9}$/.test(expire) ? Number(expire) : NaN;
    if (!(n >= 0 && n <= MAX_ITEM_EXPIRE)) return bad('pubsub#item_expire', `must be a number of seconds from 0 (never) to ${MAX_ITEM_EXPIRE}, or max`);
    patch.itemExpire = n;
  }
  const nt = vals.get('pubsub#notification_type');
  if (nt !== undefined) {
    if (nt !== 'normal' && nt !== 'headline') return bad('pubsub#notification_type', 'must be normal or headline');
    patch.notificationType = nt;
  }
  const access = vals.get('pubsub#access_model');
  if (access !== undefined && access !== 'whitelist') return bad('pubsub#access_model', 'only whitelist is offered: the policy files keep the whitelist');
  const ct = vals.get(grid('content_type'));
  if (ct !== undefined) {
    const n = normaliseContentType(ct);
    if (!n) return bad(grid('content_type'), `must be one of ${CONTENT_TYPES.join(', ')}`);
    patch.contentType = n;
  }
  const filtering = vals.get(grid('filtering'));
  if (filtering !== undefined) {
    if (filtering !== 'controller' && filtering !== 'publisher') return bad(grid('filtering'), 'must be controller or publisher');
    patch.filtering = filtering;
  }
  // pubsub#type names the payload namespace of application/xml topics (RFC 8600 §5).
  const ns = vals.get(grid('payload_namespace')) ?? vals.get('pubsub#type');
  if (ns !== undefined && ns !== '') patch.payloadNamespace = ns;
  const ff = fields.get(grid('filter_fields'));
  if (ff) {
    const decl: Record<string, string> = {};
    for (const pair of ff) {
      const eq = pair.indexOf('=');
      if (eq < 1) return bad(grid('filter_fields'), `value '${pair.slice(0, 80)}' must be name=path, e.g. location=x_location`);
      decl[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
    const c = checkDeclaredFields(decl);
    if (isFail(c)) return bad(grid('filter_fields'), c.text ?? c.fail);
    patch.filterFields = decl;
  }
  return ok(patch);
}

/** A complete, consistent configuration (create), or the reason it is not. */
export function completeConfig(base: TopicConfig, patch: Partial<TopicConfig>): Result<TopicConfig> {
  const cfg: TopicConfig = { ...base, ...patch };
  if (!cfg.itemExpire) delete cfg.itemExpire; // 0 is never, as absent
  if (cfg.contentType === 'application/xml') {
    if (!cfg.payloadNamespace) return bad('pubsub#type', 'application/xml topics need the payload namespace (pubsub#type or {urn:xmpp-grid:0}payload_namespace)');
  } else {
    const own = pubsubType(cfg.contentType);
    if (patch.payloadNamespace && patch.payloadNamespace !== own) return bad('pubsub#type', `is ${own} for ${cfg.contentType}`);
    delete cfg.payloadNamespace;
  }
  if (cfg.contentType !== STIX_CONTENT_TYPE && Object.keys(cfg.filterFields).length) return bad(grid('filter_fields'), 'only STIX 2.1 topics can be filtered');
  return ok(cfg);
}

/** The `pubsub#node_config` form (XEP-0060 §8.2.1), filled with `cfg`. */
export function nodeConfigForm(cfg: TopicConfig): Element {
  return buildForm('form', FORM_TYPES.nodeConfig, [
    { var: 'pubsub#title', type: 'text-single', label: 'Title', values: cfg.title ? [cfg.title] : [] },
    { var: 'pubsub#description', type: 'text-single', label: 'Description', values: cfg.description ? [cfg.description] : [] },
    { var: 'pubsub#type', type: 'text-single', label: 'Payload namespace', values: [pubsubType(cfg.contentType, cfg.payloadNamespace) ?? ''] },
    { var: 'pubsub#max_items', type: 'text-single', label: 'Max items to persist', values: [String(cfg.maxItems)] },
    { var: 'pubsub#item_expire', type: 'text-single', label: 'Seconds after which items expire (0: never)', values: [String(cfg.itemExpire ?? 0)] },
    { var: 'pubsub#persist_items', type: 'boolean', label: 'Persist items', values: ['1'] },
    { var: 'pubsub#access_model', type: 'list-single', label: 'Access model (the policy keeps the whitelist)', options: ['whitelist'], values: ['whitelist'] },
    { var: 'pubsub#notification_type', type: 'list-single', label: 'Message type of notifications', options: ['normal', 'headline'], values: [cfg.notificationType] },
    { var: grid('content_type'), type: 'list-single', label: 'Content type', options: [...CONTENT_TYPES], values: [cfg.contentType] },
    { var: grid('filtering'), type: 'list-single', label: 'Who cuts items per subtopic', options: ['controller', 'publisher'], values: [cfg.filtering] },
    { var: grid('filter_fields'), type: 'text-multi', label: 'Declared filter fields (name=path)', values: Object.entries(cfg.filterFields).map(([n, p]) => `${n}=${p}`) },
  ]);
}


export function installPubsubOwner(router: Router, d: PubsubDeps): void {
  router.iq('get', NS.PUBSUB_OWNER, 'pubsub', (req) => ownerGet(d, req));
  router.iq('set', NS.PUBSUB_OWNER, 'pubsub', (req) => ownerSet(d, req));
}

const ownerReply = (...children: Element[]) => xml('pubsub', { xmlns: NS.PUBSUB_OWNER }, ...children);

async function ownerGet(d: PubsubDeps, req: IqRequest): Promise<IqReply> {
  const op = req.element.getChildElements()[0];
  const s = d.subjectOf(req.bare);
  if (!s) return fail('registration-required');
  if (op?.name === 'default') return ownerReply(xml('default', {}, nodeConfigForm(DEFAULT_CONFIG)));
  if (op?.name !== 'configure') return fail('feature-not-implemented', `owner ${op?.name ?? 'request'} is not offered`, op?.name === 'subscriptions' ? 'manage-subscriptions' : op?.name === 'affiliations' ? 'modify-affiliations' : undefined);
  const node = op.attrs.node;
  if (!node) return fail('nodeid-required');
  const a = d.topics.check(s, 'create', node);
  if (isFail(a)) return a;
  return ownerReply(xml('configure', { node }, nodeConfigForm(configOf(a.topic))));
}

async function ownerSet(d: PubsubDeps, req: IqRequest): Promise<IqReply> {
  const op = req.element.getChildElements()[0];
  const s = d.subjectOf(req.bare);
  if (!s) return fail('registration-required');
  if (!op || !['configure', 'delete', 'purge'].includes(op.name)) return fail('feature-not-implemented', `owner ${op?.name ?? 'request'} is not offered`);
  const node = op.attrs.node;
  if (!node) return fail('nodeid-required');
  if (op.name === 'delete') {
    // The subscribers hear of it, and the items go, through the core's topic-deleted event.
    const r = await d.topics.delete(s, node);
    return isFail(r) ? r : true;
  }
  if (op.name === 'purge') {
    const r = await d.items.purge(s, node);
    return isFail(r) ? r : true;
  }
  return configure(d, req, op, node);
}

async function configure(d: PubsubDeps, req: IqRequest, op: Element, node: string): Promise<IqReply> {
  const s = d.subjectOf(req.bare)!;
  const a = d.topics.check(s, 'create', node);
  if (isFail(a)) return a;
  const x = op.getChild('x', NS.DATA);
  if (!x) return fail('bad-request', 'configure needs a jabber:x:data form');
  if (x.attrs.type === 'cancel') return true; // XEP-0060 §8.2.4
  const form = findForm(op, FORM_TYPES.nodeConfig);
  if (!form) return fail('not-acceptable', `the form's FORM_TYPE must be ${FORM_TYPES.nodeConfig}`);
  const patch = parseNodeConfig(form.fields, d.topics.limits.maxItems);
  if (isFail(patch)) return patch;
  if (patch.value.contentType && patch.value.contentType !== a.topic.contentType) {
    return bad(grid('content_type'), 'the content type of an existing topic cannot change: create a new topic');
  }
  const full = completeConfig(configOf(a.topic), patch.value);
  if (isFail(full)) return full;
  // A round-tripped form repeats pubsub#type; only application/xml topics keep it as config.
  if (full.value.payloadNamespace === undefined) delete patch.value.payloadNamespace;
  // ...and pubsub#item_expire 0 (never): a topic that never expires items stays as it is.
  if (patch.value.itemExpire === 0 && !a.topic.itemExpire) delete patch.value.itemExpire;
  // A lowered max_items trims the stored history in the core.
  const r = await d.items.configure(s, node, patch.value);
  return isFail(r) ? r : true;
}
