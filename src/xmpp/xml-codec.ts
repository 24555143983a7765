// The XML codec the core's payload layer cuts stored XML payloads with (payloads/xml-cut.ts):
// ltx, the parser and serialiser @xmpp already uses, behind the neutral XmlNode shape.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import type { XmlCodec, XmlNode } from '../payloads/types.js';
import { asXmlNode } from './xmlnode.js';

/** One element's text → its tree; null when it is not exactly one well-formed element. */
function parse(text: string): XmlNode | null {
  const parser = new xml.Parser();
  let root: Element | undefined;
  let done: Element | undefined;
  let bad = false;
  // A stream parser: it emits the root's children one by one instead of appending them.
  parser.on('start', (el: Element) => { if (root) bad = true; else root = el; });
  parser.on('element', (el: Element) => { if (done) bad = true; else root!.append(el); });
  parser.on('end', (el: Element) => { done = el; });
  parser.on('error', () => { bad = true; });
  try {
    parser.write(text);
  } catch {
    return null;
  }
  return bad || !done ? null : asXmlNode(done);
}

function toElement(node: XmlNode): Element {
  if (node instanceof xml.Element) return node;
  const el = new xml.Element(node.name, node.attrs);
  el.children = node.children.map((c) => (typeof c === 'string' ? c : toElement(c)));
  return el;
}

export const xmlCodec: XmlCodec = {
  parse,
  serialise: (node) => toElement(node).toString(),
};
