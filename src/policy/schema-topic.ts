// One entry of `topics:` (PROTOCOL §3, §5, §12): topics that exist from the start.
import type { Node } from 'yaml';
import type { Reader } from './yaml-read.js';
import { topicNameProblem } from './glob.js';
import { CONTENT_TYPES, type ContentType, type TopicDecl } from './types.js';

const TOPIC_KEYS = [
  'name', 'title', 'description', 'content_type', 'filtering', 'filter_fields',
  'max_items', 'item_expire', 'payload_namespace', 'notification_type',
] as const;

export const STIX21 = 'application/stix+json;version=2.1';
/** Built-in STIX 2.1 filter names (PROTOCOL §5); a topic may not redeclare them. */
export const BUILTIN_STIX_FILTERS = [
  'type', 'id', 'spec_version', 'labels', 'tlp', 'min_confidence', 'created_by_ref', 'pattern_type', 'kill_chain_phase',
];
const FILTER_NAME_RE = /^[a-z][a-z0-9_]*$/;
const PROPERTY_PATH_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
export const DEFAULT_MAX_ITEMS = 1000;
const MAX_MAX_ITEMS = 1_000_000;
/** pubsub#item_expire at most ten years, in seconds (topics/retention.ts). */
export const MAX_ITEM_EXPIRE = 315_360_000;

export function readTopic(r: Reader, node: Node, n: number, file: string): TopicDecl | null {
  const m = r.map(node, `topic #${n}`, TOPIC_KEYS);
  if (!m) return null;
  const before = r.errors.length;
  let name: string | null = null;
  if (!m.has('name')) r.error(node, `topic #${n} has no name`);
  else {
    name = r.string(m.get('name'), `topic #${n}: name`);
    const problem = name === null ? null : topicNameProblem(name);
    if (problem) r.error(m.get('name'), `topic '${name}': ${problem}`);
  }
  const what = `topic '${name ?? '#' + n}'`;
  let contentType: ContentType | null = null;
  if (!m.has('content_type')) r.error(node, `${what} has no content_type (one of ${CONTENT_TYPES.join(', ')})`);
  else contentType = r.oneOf(m.get('content_type'), `${what}: content_type`, CONTENT_TYPES);

  const title = m.has('title') ? r.string(m.get('title'), `${what}: title`) : undefined;
  const description = m.has('description') ? r.string(m.get('description'), `${what}: description`) : undefined;
  const filtering = m.has('filtering') ? r.oneOf(m.get('filtering'), `${what}: filtering`, ['controller', 'publisher'] as const) : 'controller';
  const maxItems = m.has('max_items') ? r.positiveInt(m.get('max_items'), `${what}: max_items`, MAX_MAX_ITEMS) : DEFAULT_MAX_ITEMS;
  // 0 = never (as absent); a bad value is an error, the topic is then skipped like any other.
  const itemExpire = m.has('item_expire') ? r.nonNegativeInt(m.get('item_expire'), `${what}: item_expire`, MAX_ITEM_EXPIRE) : 0;
  const notificationType = m.has('notification_type')
    ? r.oneOf(m.get('notification_type'), `${what}: notification_type`, ['normal', 'headline'] as const)
    : undefined;
  const payloadNamespace = m.has('payload_namespace') ? r.string(m.get('payload_namespace'), `${what}: payload_namespace`) : undefined;
  if (contentType === 'application/xml' && !m.has('payload_namespace')) {
    r.error(node, `${what}: content_type application/xml needs payload_namespace (the payload's root namespace)`);
  }
  if (contentType && contentType !== 'application/xml' && m.has('payload_namespace')) {
    r.error(m.get('payload_namespace'), `${what}: payload_namespace only applies to content_type application/xml`);
  }
  const filterFields = m.has('filter_fields') ? readFilterFields(r, m.get('filter_fields') as Node, what, contentType) : {};
  if (r.errors.length > before || name === null || contentType === null || !filtering || !maxItems || itemExpire === null || !filterFields) return null;
  return {
    name, contentType, filtering, filterFields, maxItems, file, line: r.line(node),
    ...(title ? { title } : {}),
    ...(description ? { description } : {}),
    ...(payloadNamespace ? { payloadNamespace } : {}),
    ...(notificationType ? { notificationType } : {}),
    ...(itemExpire ? { itemExpire } : {}),
  };
}

function readFilterFields(r: Reader, node: Node, what: string, contentType: ContentType | null): Record<string, string> | null {
  const entries = r.dict(node, `${what}: filter_fields`);
  if (!entries) return null;
  if (contentType && contentType !== STIX21 && entries.length > 0) {
    r.error(node, `${what}: filter_fields apply only to ${STIX21} topics`);
    return null;
  }
  const out: Record<string, string> = {};
  let ok = true;
  for (const { key, keyNode, value } of entries) {
    if (!FILTER_NAME_RE.test(key)) {
      r.error(keyNode, `${what}: filter name '${key}' must match [a-z][a-z0-9_]*`);
      ok = false;
    } else if (BUILTIN_STIX_FILTERS.includes(key)) {
      r.error(keyNode, `${what}: filter name '${key}' is built in; choose another name`);
      ok = false;
    }
    const path = r.string(value, `${what}: filter_fields.${key}`);
    if (path !== null && !PROPERTY_PATH_RE.test(path)) {
      r.error(value, `${what}: filter_fields.${key} '${path}' is not a dotted property path like x_location or extensions.x.name`);
      ok = false;
    }
    if (path !== null) out[key] = path;
    else ok = false;
  }
  return ok ? out : null;
}
