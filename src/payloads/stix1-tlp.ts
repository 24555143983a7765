// STIX 1.x data markings (STIX 1.2 Data Marking, TLP extension) → TLP, and the per-object
// cut of a STIX_Package; a TAXII 1.1 Content_Block holding a package is cut the same way.
import type { Tlp, TlpCap } from '../filters/types.js';
import type { XmlNode } from './types.js';
import { STIX1_NS, TAXII11_NS } from './xml.js';
import {
  attrNS, childrenNamed, contextOf, elementChildren, localName, namespaceOf, nsOfName, textOf, walkElements, type NsContext,
} from './xml-ns.js';
import { released, stricter, withChildren, type XmlCutResult } from './xml-tlp.js';

export const MARKING_NS = 'http://data-marking.mitre.org/Marking-1';
export const TLP_MARKING_NS = 'http://data-marking.mitre.org/extensions/MarkingStructure#TLP-1';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** TLPMarkingStructureType@color (WHITE, GREEN, AMBER, RED); anything else counts as red. */
const COLOR_TLP: Readonly<Record<string, Tlp>> = { WHITE: 'clear', GREEN: 'green', AMBER: 'amber', RED: 'red' };

/** How many levels a Controlled_Structure XPath climbs from itself; Infinity when absolute. */
function climb(xpath: string): number {
  let most = 0;
  for (const part of xpath.split('|')) {
    const p = part.trim();
    if (p.startsWith('/')) return Infinity;
    const ups = p.match(/^(\.\.\/?)*/)![0].split('..').length - 1;
    most = Math.max(most, ups);
  }
  return most;
}

interface Found {
  /** Markings that govern the whole package (in STIX_Header, or reaching above one object). */
  pkg?: Tlp;
  /** Markings that govern one object (a child of a component list such as Indicators). */
  local: Map<XmlNode, Tlp>;
}

/** The TLP colours one `marking:Marking` carries, and its Controlled_Structure XPath. */
function readMarking(marking: XmlNode, ctx: NsContext): { tlps: Tlp[]; xpath: string | undefined } {
  const tlps: Tlp[] = [];
  let xpath: string | undefined;
  for (const c of elementChildren(marking)) {
    const cctx = contextOf(c, ctx);
    if (nsOfName(c.name, cctx) !== MARKING_NS) continue;
    if (localName(c) === 'Controlled_Structure') xpath ??= textOf(c);
    if (localName(c) !== 'Marking_Structure') continue;
    const type = attrNS(c, cctx, XSI_NS, 'type')?.trim();
    if (type === undefined || nsOfName(type, cctx) !== TLP_MARKING_NS || type.slice(type.indexOf(':') + 1) !== 'TLPMarkingStructureType') continue;
    tlps.push(COLOR_TLP[(c.attrs.color ?? '').trim().toUpperCase()] ?? 'red');
  }
  return { tlps, xpath };
}

/**
 * Finds every TLP marking in the package. A marking's scope is where its Controlled_Structure
 * points: the header's markings and absolute XPaths govern the package; a relative one that
 * stays inside an object (depth >= 2: root, list, object) governs that object. The XPath is
 * not evaluated, only how far it climbs: when unsure, the wider scope wins.
 */
function findMarkings(root: XmlNode, ancestors: readonly XmlNode[]): Found {
  const found: Found = { local: new Map() };
  walkElements(root, ancestors, (el, v) => {
    if (localName(el) !== 'Marking' || v.ns !== MARKING_NS) return true;
    const { tlps, xpath } = readMarking(el, v.ctx);
    // The XPath's context node is Controlled_Structure itself, one level below Marking.
    const reach = v.depth + 1 - (xpath === undefined ? 0 : climb(xpath));
    const inHeader = v.depth >= 2 && localName(v.head[1]!) === 'STIX_Header';
    const owner = !inHeader && v.depth >= 3 && reach >= 2 ? v.head[2]! : undefined;
    for (const t of tlps) {
      if (owner) found.local.set(owner, stricter(found.local.get(owner), t)!);
      else found.pkg = stricter(found.pkg, t);
    }
    return false;
  });
  return found;
}

/**
 * Keeps the objects (the children of Indicators, Incidents, TTPs, Observables…) the cap
 * releases; lists left empty go. An object's marking is its own and the package's, the
 * strictest winning (STIX 1.2: every marking that applies to a node applies). A package
 * with no object left is withheld; one without objects is released or withheld whole.
 */
export function cutStix1(root: XmlNode, ancestors: readonly XmlNode[], cap: TlpCap): XmlCutResult {
  const found = findMarkings(root, ancestors);
  const scope = [...ancestors, root];
  const lists = elementChildren(root).filter((c) => !(localName(c) === 'STIX_Header' && namespaceOf(c, scope) === STIX1_NS));
  const objects = lists.flatMap(elementChildren);
  const markingOf = (o: XmlNode | undefined) => {
    const own = o ? found.local.get(o) : undefined;
    return { tlp: stricter(found.pkg, own), unmarked: found.pkg === undefined && own === undefined };
  };
  if (objects.length === 0) return released(markingOf(undefined), cap) ? 'all' : null;
  const kept = new Set(objects.filter((o) => released(markingOf(o), cap)));
  if (kept.size === 0) return null;
  if (kept.size === objects.length) return 'all';
  const cutLists = new Map<XmlNode, XmlNode>();
  for (const l of lists) {
    const cut = withChildren(l, (o) => kept.has(o));
    if (elementChildren(cut).length > 0) cutLists.set(l, cut);
  }
  const out = withChildren(root, (c) => !lists.includes(c) || cutLists.has(c));
  out.children = out.children.map((c) => (typeof c !== 'string' && cutLists.get(c)) || c);
  return out;
}

/**
 * A TAXII 1.1 Content_Block whose Content is a STIX 1.x package: the package's cut, in its
 * block. undefined when the block holds something else (the caller treats it as unmarked).
 */
export function cutTaxii11(root: XmlNode, cap: TlpCap): XmlCutResult | undefined {
  const content = childrenNamed(root, [], TAXII11_NS, 'Content')[0];
  if (!content) return undefined;
  const scope = [root, content];
  const pkg = elementChildren(content).find((c) => localName(c) === 'STIX_Package' && namespaceOf(c, scope) === STIX1_NS);
  if (!pkg) return undefined;
  const r = cutStix1(pkg, scope, cap);
  if (r === null || r === 'all') return r;
  const inner: XmlNode = { ...content, children: content.children.map((c) => (c === pkg ? r : c)) };
  return { ...root, children: root.children.map((c) => (c === content ? inner : c)) };
}
