// An item's payload element → the core's content-neutral PublishInput. XEP-0335 `<json/>`
// is how XMPP carries JSON: unwrapping it is this door's business; the core validates the
// STIX 2.1 text inside (or the XML element, for the other content types).
import type { Element } from '@xmpp/xml';
import type { PublishInput } from '../topics/types.js';
import type { XmlContent, XmlNode } from '../payloads/types.js';
import { elementChildren, localName, namespaceOf, textOf } from '../payloads/xml-ns.js';
import { NS } from './ns.js';
import { xmlCodec } from './xml-codec.js';
import { validateContent, type ItemPayloadResult } from '../payloads/index.js';
import type { ContentType } from '../payloads/types.js';
import { ancestorsOf, asXmlNode, standaloneString } from './xmlnode.js';

/**
 * `limits.payload_bytes` counts the payload element as serialised (§5), whichever form the
 * core takes it in: `bytes` says so.
 */
export function publishInput(root: Element): PublishInput {
  const node = asXmlNode(root);
  const ancestors = ancestorsOf(root).map(asXmlNode);
  const element: XmlContent = { text: standaloneString(root), root: node, ancestors };
  const bytes = Buffer.byteLength(element.text, 'utf8');
  const notJson = jsonProblem(node, ancestors);
  if (!notJson) return { kind: 'json', text: textOf(node), element, bytes };
  return { kind: 'xml', ...element, bytes, notJson };
}

/** Why the element is not XEP-0335 `<json xmlns='urn:xmpp:json:0'>` holding text only, or null. */
function jsonProblem(node: XmlNode, ancestors: readonly XmlNode[]): string | null {
  if (localName(node) !== 'json' || namespaceOf(node, ancestors) !== NS.JSON) {
    return `payload must be <json xmlns='${NS.JSON}'> holding STIX 2.1 JSON (got <${localName(node)}>)`;
  }
  if (elementChildren(node).length > 0) return '<json/> must hold JSON text only, no child elements';
  return null;
}

/** The payload element checked against a content type as a publish checks it (door and core). */
export function validateItemPayload(contentType: ContentType, root: Element, opts: { payloadNamespace?: string } = {}): ItemPayloadResult {
  return validateContent(contentType, publishInput(root), { ...opts, xml: xmlCodec });
}
