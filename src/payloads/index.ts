// Public face of the payload layer: content types, their pubsub#type, and one entry point
// that checks an item's payload element against its topic (docs/protocol.md §5).
import type { ContentType, ParsedStix, PayloadError, XmlNode } from './types.js';
import { parseStixPayload } from './stix.js';
import { IODEF_NS, STIX1_NS, TAXII11_NS, validateXmlPayload } from './xml.js';
import { elementChildren, localName, namespaceOf, textOf } from './xml-ns.js';

export type * from './types.js';
export { parseStixPayload, stixObjectError } from './stix.js';
export { isIdentifier, isStixType, isTimestamp, SCO_TYPES } from './stix-rules.js';
export { validateXmlPayload, IODEF_NS, STIX1_NS, TAXII11_NS } from './xml.js';
export { namespaceOf, localName, childrenNamed, textOf } from './xml-ns.js';
export { XmlPayload } from './xml-cut.js';
export { IODEF_RESTRICTION_TLP, restrictionTlp } from './iodef-tlp.js';

export const STIX_CONTENT_TYPE = 'application/stix+json;version=2.1';
/** XEP-0335 JSON container: the pubsub#type of STIX 2.1 topics. */
export const JSON_CONTAINER_NS = 'urn:xmpp:json:0';

export const CONTENT_TYPES: readonly ContentType[] = [
  'application/stix+json;version=2.1',
  'application/iodef+xml',
  'application/stix+xml;version=1.2',
  'application/taxii+xml;version=1.1',
  'application/xml',
];

/** Built-in filter fields of STIX 2.1 topics (§5), in the order forms list them. */
export const STIX_FILTER_FIELDS: readonly string[] = [
  'type', 'id', 'spec_version', 'labels', 'tlp', 'min_confidence', 'created_by_ref',
  'pattern_type', 'kill_chain_phase',
];

export function isContentType(s: string): s is ContentType {
  return (CONTENT_TYPES as readonly string[]).includes(s);
}

/** Media types are case-insensitive and may carry spaces around ';' (RFC 9110 §8.3.1). */
export function normaliseContentType(s: string): ContentType | undefined {
  const n = s.split(';').map((p) => p.trim().toLowerCase()).join(';');
  return isContentType(n) ? n : undefined;
}

/** The topic's `pubsub#type`: the payload root's namespace (§5 table, RFC 8600 §5). */
export function pubsubType(contentType: ContentType, payloadNamespace?: string): string | undefined {
  switch (contentType) {
    case 'application/stix+json;version=2.1': return JSON_CONTAINER_NS;
    case 'application/iodef+xml': return IODEF_NS;
    case 'application/stix+xml;version=1.2': return STIX1_NS;
    case 'application/taxii+xml;version=1.1': return TAXII11_NS;
    case 'application/xml': return payloadNamespace;
  }
}

/** Filter fields every topic of this content type supports; only STIX 2.1 has any. */
export function builtinFilterFields(contentType: string): string[] {
  return contentType === STIX_CONTENT_TYPE ? [...STIX_FILTER_FIELDS] : [];
}

/** `limits.payload_bytes` check; `bytes` = UTF-8 length of the serialised payload element. */
export function checkPayloadSize(bytes: number, limit: number): PayloadError | null {
  return bytes <= limit ? null
    : { code: 'payload-too-big', text: `payload is ${bytes} bytes; this service accepts at most ${limit}` };
}

export type ItemPayloadResult = { ok: true; stix?: ParsedStix } | { ok: false; error: PayloadError };

const invalid = (text: string): ItemPayloadResult => ({ ok: false, error: { code: 'invalid-payload', text } });

/**
 * Checks an item's payload element against its topic's content type. For STIX 2.1 the root
 * must be XEP-0335 `<json xmlns='urn:xmpp:json:0'>` holding only text; the parsed STIX comes
 * back for delivery. `ancestors` (outermost first) serve inherited namespace declarations.
 */
export function validateItemPayload(
  contentType: ContentType,
  root: XmlNode,
  opts: { payloadNamespace?: string; ancestors?: readonly XmlNode[] } = {},
): ItemPayloadResult {
  if (contentType !== STIX_CONTENT_TYPE) {
    const r = validateXmlPayload(contentType, root, opts);
    return r.ok ? { ok: true } : invalid(r.text);
  }
  if (localName(root) !== 'json' || namespaceOf(root, opts.ancestors) !== JSON_CONTAINER_NS) {
    return invalid(`payload must be <json xmlns='${JSON_CONTAINER_NS}'> holding STIX 2.1 JSON (got <${localName(root)}>)`);
  }
  if (elementChildren(root).length > 0) return invalid('<json/> must hold JSON text only, no child elements');
  const parsed = parseStixPayload(textOf(root));
  return parsed.ok ? { ok: true, stix: parsed } : invalid(parsed.text);
}
