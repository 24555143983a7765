// Public face of the payload layer: content types, their pubsub#type, and one entry point
// that checks an item's payload element against its topic (docs/protocol.md §5).
import type { ContentInput, ContentType, ParsedStix, XmlCodec } from './types.js';
import { fail, isFail, ok, type Fail, type Result } from '../result.js';
import { parseStixPayload } from './stix.js';
import { CONTENT_TYPES, STIX_CONTENT_TYPE } from './content-types.js';
import { IODEF_NS, STIX1_NS, TAXII11_NS, validateXmlPayload } from './xml.js';

export type * from './types.js';
export { parseStixPayload, stixObjectError } from './stix.js';
export { isIdentifier, isStixType, isTimestamp, SCO_TYPES } from './stix-rules.js';
export { validateXmlPayload, IODEF_NS, STIX1_NS, TAXII11_NS } from './xml.js';
export { namespaceOf, localName, childrenNamed, textOf } from './xml-ns.js';
export { XmlPayload } from './xml-cut.js';
export { IODEF_RESTRICTION_TLP, restrictionTlp } from './iodef-tlp.js';

/** XEP-0335 JSON container: the pubsub#type of STIX 2.1 topics. */
export const JSON_CONTAINER_NS = 'urn:xmpp:json:0';

export { CONTENT_TYPES, STIX_CONTENT_TYPE } from './content-types.js';

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
export function checkPayloadSize(bytes: number, limit: number): Fail | null {
  return bytes <= limit ? null : fail('payload-too-big', `payload is ${bytes} bytes; this service accepts at most ${limit}`);
}

/** A valid item payload: STIX 2.1 comes back parsed (for delivery); XML payloads have no value to give. */
export type ItemPayloadResult = Result<{ stix?: ParsedStix }>;

const invalid = (text: string): Fail => fail('invalid-payload', text);

/**
 * Checks an item's content against its topic's content type: STIX 2.1 topics take JSON text
 * (the parsed STIX comes back for delivery), the others one XML element, parsed here with the
 * injected codec unless the door already holds the tree. How a door carries the content
 * (XEP-0335 `<json/>` over XMPP, a TAXII envelope over HTTPS) is the door's business.
 */
export function validateContent(
  contentType: ContentType,
  input: ContentInput,
  opts: { payloadNamespace?: string; xml: XmlCodec },
): ItemPayloadResult {
  if (contentType === STIX_CONTENT_TYPE) {
    if (input.kind !== 'json') return invalid(input.notJson ?? 'a STIX 2.1 topic takes STIX 2.1 JSON text, not an XML element');
    const parsed = parseStixPayload(input.text);
    return isFail(parsed) ? parsed : ok({ stix: parsed.value });
  }
  const el = input.kind === 'xml' ? input : input.element;
  if (!el) return invalid(`a ${contentType} topic takes one XML element, not JSON`);
  const root = el.root ?? opts.xml.parse(el.text);
  if (!root) return invalid('payload is not one well-formed XML element');
  const r = validateXmlPayload(contentType, root, { ...(opts.payloadNamespace ? { payloadNamespace: opts.payloadNamespace } : {}), ...(el.ancestors ? { ancestors: el.ancestors } : {}) });
  return isFail(r) ? r : ok({});
}
