// TLP release for XML payloads (PROTOCOL §5 "Marking-based release"): the vocabulary the
// readers per content type share (iodef-tlp.ts, stix1-tlp.ts). The cut itself: xml-cut.ts.
import type { Tlp, TlpCap } from '../filters/types.js';
import { tlpAllowed, tlpRank } from '../filters/tlp.js';
import type { XmlNode } from './types.js';

/**
 * How a part (an Incident, an Indicator…) is marked: `tlp` the strictest TLP found on it or
 * inside it (so no inner part above the cap leaks), `unmarked` when the part itself carries
 * no marking (neither its own nor one inherited from the document).
 */
export interface XmlMarking {
  tlp?: Tlp;
  unmarked: boolean;
}

/** A cut: 'all' (send the text as stored), null (send nothing) or the tree to send. */
export type XmlCutResult = 'all' | null | XmlNode;

export function stricter(a: Tlp | undefined, b: Tlp | undefined): Tlp | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return tlpRank(b) > tlpRank(a) ? b : a;
}

export function released(m: XmlMarking, cap: TlpCap): boolean {
  return (!m.unmarked || tlpAllowed(undefined, cap)) && (m.tlp === undefined || tlpAllowed(m.tlp, cap));
}

/** A copy of `node` holding only the child elements `keep` accepts (text kept, except the
 *  indentation in front of a dropped element). */
export function withChildren(node: XmlNode, keep: (child: XmlNode) => boolean): XmlNode {
  const out: (XmlNode | string)[] = [];
  for (const c of node.children) {
    if (typeof c === 'string') { out.push(c); continue; }
    if (keep(c)) { out.push(c); continue; }
    const prev = out[out.length - 1];
    if (typeof prev === 'string' && prev.trim() === '') out.pop();
  }
  return { name: node.name, attrs: node.attrs, children: out };
}
