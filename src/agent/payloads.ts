// Item payloads (PROTOCOL §5): STIX 2.1 as XEP-0335 JSON, XML content types as the element
// itself. XML text is parsed with @xmpp/xml's parser (ltx), never by hand.
import xml from '@xmpp/xml';
import type { Element } from '@xmpp/xml';
import type { Payload } from './grid-types.js';
import { NS } from './ns.js';
import { usageError } from './errors.js';

/** Parses one XML document (declaration and comments allowed) into its root element. */
export function parseXml(text: string): Element {
  const parser = new xml.Parser();
  let root: Element | undefined;
  let done: Element | undefined;
  let error: Error | undefined;
  let extra = false;
  let childrenAtEnd = 0;
  // The parser is made for streams: it emits the root's children one by one instead of
  // appending them, so put them back; anything after the root's end is a second document.
  parser.on('start', (el: Element) => { if (root) extra = true; else root = el; });
  parser.on('element', (el: Element) => { if (done) extra = true; else root!.append(el); });
  parser.on('end', (el: Element) => { done = el; childrenAtEnd = el.children.length; });
  parser.on('error', (err: Error) => { error ??= err; });
  try {
    parser.write(text);
    // ltx holds back text until the next '<': an empty comment flushes text after the root.
    parser.write('<!---->');
  } catch (err) {
    error ??= err as Error;
  }
  if (error) throw usageError(`not well-formed XML: ${error.message}`);
  if (!done) throw usageError('not well-formed XML: the document ends before its root element is closed');
  if (extra) throw usageError('XML text holds more than one root element; publish one document per item');
  const trailing = done.children.splice(childrenAtEnd);
  if (trailing.some((c) => typeof c !== 'string' || c.trim() !== '')) throw usageError('XML text continues after its root element');
  return done;
}

/** The element to put inside `<item>`. */
export function payloadElement(payload: Payload | Element): Element {
  if (payload instanceof xml.Element) return payload;
  if (typeof payload === 'string') return parseXml(payload);
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw usageError('a JSON payload must be one STIX object, a bundle or an envelope ({"objects": […]})');
  }
  return xml('json', { xmlns: NS.JSON }, JSON.stringify(payload));
}

/** The payload of a received `<item>`: parsed JSON for XEP-0335, the XML text otherwise. */
export function readPayload(item: Element): object | string {
  const el = item.getChildElements()[0];
  if (!el) return '';
  if (el.is('json', NS.JSON)) {
    const text = el.getText();
    try {
      return JSON.parse(text) as object;
    } catch {
      return text; // keep what arrived rather than drop the item
    }
  }
  return el.toString();
}

/** The objects of a bundle or envelope, each its own payload; any other object as itself. */
export function splitObjects(payload: Record<string, unknown>): Record<string, unknown>[] {
  const objects = payload.objects;
  if (Array.isArray(objects) && (payload.type === 'bundle' || payload.type === undefined)) {
    return objects.filter((o): o is Record<string, unknown> => o !== null && typeof o === 'object' && !Array.isArray(o));
  }
  return [payload];
}
