// Namespace resolution on the neutral XmlNode tree, as XML Namespaces 1.0 §6 scopes it:
// a prefix (or the default namespace) is declared on the element or the nearest ancestor.
import type { XmlNode } from './types.js';

const XML_NS = 'http://www.w3.org/XML/1998/namespace';

export function localName(node: XmlNode): string {
  const i = node.name.indexOf(':');
  return i < 0 ? node.name : node.name.slice(i + 1);
}

/**
 * The namespace of `node`. `ancestors` runs from the outermost element to the parent; pass
 * the elements above the payload root when its declarations may be inherited.
 */
export function namespaceOf(node: XmlNode, ancestors: readonly XmlNode[] = []): string | undefined {
  const i = node.name.indexOf(':');
  const prefix = i < 0 ? '' : node.name.slice(0, i);
  if (prefix === 'xml') return XML_NS;
  const attr = prefix === '' ? 'xmlns' : `xmlns:${prefix}`;
  if (attr in node.attrs) return node.attrs[attr] || undefined;
  for (let j = ancestors.length - 1; j >= 0; j--) {
    const a = ancestors[j]!.attrs;
    // An empty default declaration (xmlns="") un-declares the default namespace.
    if (attr in a) return a[attr] || undefined;
  }
  return undefined;
}

export function elementChildren(node: XmlNode): XmlNode[] {
  return node.children.filter((c): c is XmlNode => typeof c !== 'string');
}

/** Child elements of `node` with this local name in namespace `ns`. */
export function childrenNamed(node: XmlNode, ancestors: readonly XmlNode[], ns: string, name: string): XmlNode[] {
  const scope = [...ancestors, node];
  return elementChildren(node).filter((c) => localName(c) === name && namespaceOf(c, scope) === ns);
}

export function textOf(node: XmlNode): string {
  return node.children.filter((c): c is string => typeof c === 'string').join('');
}

/**
 * The value of the attribute `local` in namespace `ns` (prefixed attributes only: an
 * unprefixed attribute is in no namespace), e.g. `xsi:type` under any prefix.
 */
export function attrNS(node: XmlNode, ancestors: readonly XmlNode[], ns: string, local: string): string | undefined {
  for (const [k, v] of Object.entries(node.attrs)) {
    const i = k.indexOf(':');
    if (i < 0 || k.slice(i + 1) !== local || k.startsWith('xmlns:')) continue;
    if (namespaceOf({ name: k, attrs: {}, children: [] }, [...ancestors, node]) === ns) return v;
  }
  return undefined;
}

/** A QName-valued attribute (`tlpMarking:TLPMarkingStructureType`) as {namespace, local name}. */
export function resolveQName(value: string, node: XmlNode, ancestors: readonly XmlNode[]): { ns: string | undefined; local: string } {
  const v = value.trim();
  const i = v.indexOf(':');
  const probe: XmlNode = { name: i < 0 ? 'x' : `${v.slice(0, i)}:x`, attrs: {}, children: [] };
  return { ns: namespaceOf(probe, [...ancestors, node]), local: i < 0 ? v : v.slice(i + 1) };
}
