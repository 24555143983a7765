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


// ---- iterative walk with namespace contexts: linear however deep a payload nests

/** Prefix ('' = default) → namespace in scope at an element. */
export type NsContext = ReadonlyMap<string, string | undefined>;

/** The context inside `node`: its parent's, with the declarations `node` makes. */
export function contextOf(node: XmlNode, parent: NsContext): NsContext {
  let ctx: Map<string, string | undefined> | undefined;
  for (const [k, v] of Object.entries(node.attrs)) {
    if (k !== 'xmlns' && !k.startsWith('xmlns:')) continue;
    ctx ??= new Map(parent);
    ctx.set(k === 'xmlns' ? '' : k.slice(6), v || undefined);
  }
  return ctx ?? parent;
}

export function contextOfAncestors(ancestors: readonly XmlNode[]): NsContext {
  let ctx: NsContext = new Map();
  for (const a of ancestors) ctx = contextOf(a, ctx);
  return ctx;
}

/** The namespace of a prefixed name (`p:local`, or `local` for the default) in `ctx`. */
export function nsOfName(name: string, ctx: NsContext): string | undefined {
  const i = name.indexOf(':');
  const prefix = i < 0 ? '' : name.slice(0, i);
  return prefix === 'xml' ? XML_NS : ctx.get(prefix);
}

/** The value of attribute `local` in namespace `ns` (prefixed attributes; `ctx` = the element's own). */
export function attrNS(node: XmlNode, ctx: NsContext, ns: string, local: string): string | undefined {
  for (const [k, v] of Object.entries(node.attrs)) {
    const i = k.indexOf(':');
    if (i > 0 && !k.startsWith('xmlns:') && k.slice(i + 1) === local && ctx.get(k.slice(0, i)) === ns) return v;
  }
  return undefined;
}

export interface ElementVisit {
  ns: string | undefined;
  depth: number;
  /** The element's context (for its children and QName values). */
  ctx: NsContext;
  /** The first elements of the path from the root (at most root, child, grandchild). */
  head: readonly XmlNode[];
}

/**
 * Visits `root` and its descendants in document order without recursion; `visit` returns
 * false to skip an element's descendants.
 */
export function walkElements(root: XmlNode, ancestors: readonly XmlNode[], visit: (el: XmlNode, v: ElementVisit) => boolean): void {
  const stack: { el: XmlNode; parent: NsContext; depth: number; head: readonly XmlNode[] }[] =
    [{ el: root, parent: contextOfAncestors(ancestors), depth: 0, head: [] }];
  while (stack.length > 0) {
    const { el, parent, depth, head } = stack.pop()!;
    const ctx = contextOf(el, parent);
    const h = depth < 3 ? [...head, el] : head;
    if (!visit(el, { ns: nsOfName(el.name, ctx), depth, ctx, head: h })) continue;
    const kids = elementChildren(el);
    for (let j = kids.length - 1; j >= 0; j--) stack.push({ el: kids[j]!, parent: ctx, depth: depth + 1, head: h });
  }
}
