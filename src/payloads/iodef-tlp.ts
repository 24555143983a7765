// IODEF 2.0 (RFC 7970 §3.3.1) `restriction` → TLP, and the per-Incident cut. The document's
// restriction is the default of every element below it; an element's own one overrides it.
import type { Tlp, TlpCap } from '../filters/types.js';
import { TLP_ORDER } from '../filters/tlp.js';
import type { XmlNode } from './types.js';
import { IODEF_NS } from './xml.js';
import { elementChildren, localName, namespaceOf, walkElements } from './xml-ns.js';
import { released, stricter, withChildren, type XmlCutResult, type XmlMarking } from './xml-tlp.js';

/**
 * RFC 7970 restriction values read as TLP. The four TLP 1.0 colours are TLP; `public` may
 * go anywhere (clear); `partner` and `need-to-know` are limited disclosure (amber);
 * `private` stays with the recipient (red). `default` marks nothing (the element inherits).
 */
export const IODEF_RESTRICTION_TLP: Readonly<Record<string, Tlp>> = {
  public: 'clear', white: 'clear', green: 'green', partner: 'amber', 'need-to-know': 'amber',
  amber: 'amber', private: 'red', red: 'red',
};

/** `ext-restriction` names a TLP 2.0 level (`clear`, `amber+strict`, optionally `tlp:…`)? */
function extTlp(v: string | undefined): Tlp {
  const s = (v ?? '').trim().toLowerCase().replace(/^tlp:/, '');
  if (s === 'white') return 'clear';
  return (TLP_ORDER as readonly string[]).includes(s) ? (s as Tlp) : 'red';
}

/**
 * The element's own marking; undefined without one (absent or `default`). A value this
 * table does not know (an unknown `ext-restriction`, a typo) counts as red: it is released
 * only to nodes without a cap, never guessed lower.
 */
export function restrictionTlp(el: XmlNode): Tlp | undefined {
  const r = el.attrs.restriction?.trim();
  if (r === undefined || r === 'default') return undefined;
  if (r === 'ext-value') return extTlp(el.attrs['ext-restriction']);
  return IODEF_RESTRICTION_TLP[r] ?? 'red';
}

/** The strictest restriction on any IODEF element in `el` (itself included), however deep. */
function innerTlp(el: XmlNode, ancestors: readonly XmlNode[]): Tlp | undefined {
  let tlp: Tlp | undefined;
  walkElements(el, ancestors, (e, v) => {
    if (v.ns === IODEF_NS) tlp = stricter(tlp, restrictionTlp(e));
    return true;
  });
  return tlp;
}

/** A child of the document (an Incident, AdditionalData): its own or the document's marking. */
export function iodefPartMarking(part: XmlNode, scope: readonly XmlNode[], docTlp: Tlp | undefined): XmlMarking {
  const own = restrictionTlp(part) ?? docTlp;
  return { tlp: stricter(own, innerTlp(part, scope)), unmarked: own === undefined };
}

/**
 * Keeps the Incidents (and other document children) the cap releases. A document left
 * without an Incident is withheld whole: an IODEF document must hold one (RFC 7970 §3.1).
 */
export function cutIodef(root: XmlNode, cap: TlpCap): XmlCutResult {
  const scope = [root];
  const docTlp = restrictionTlp(root);
  const kept = new Set<XmlNode>();
  let incidents = 0;
  let dropped = false;
  for (const c of elementChildren(root)) {
    if (!released(iodefPartMarking(c, scope, docTlp), cap)) { dropped = true; continue; }
    kept.add(c);
    if (localName(c) === 'Incident' && namespaceOf(c, scope) === IODEF_NS) incidents++;
  }
  if (incidents === 0) return null;
  return dropped ? withChildren(root, (c) => kept.has(c)) : 'all';
}
