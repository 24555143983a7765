// XML plumbing shared by the pubsub and grid handlers: pre-serialised elements for the
// fan-out hot path, self-contained payload serialisation, XEP-0059 RSM and Clark names.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import type { XmlNode } from '../payloads/types.js';
import { fail, type Fail } from '../result.js';
import { NS } from './ns.js';
import type { PageRequest } from '../topics/query.js';

/**
 * An element that writes a serialisation made once. Notifications share the payload part
 * across every recipient of a cut: serialising (and escaping) a 200 kB bundle once instead of
 * once per subscriber is most of the fan-out cost. `children` mirror the template for
 * inspection only; what goes on the wire is `raw`.
 */
export class RawElement extends xml.Element {
  constructor(readonly raw: string, template: Element) {
    super(template.name, template.attrs);
    this.children = template.children;
  }

  /** Built with xml() and serialised once by ltx (escaping included): never a string template. */
  static of(template: Element): RawElement {
    return new RawElement(template.toString(), template);
  }

  override write(writer: (chunk: string) => void): void {
    writer(this.raw);
  }

  override toString(): string {
    return this.raw;
  }
}

/** Outermost first: the ancestors whose namespace declarations a payload may inherit. */
export function ancestorsOf(el: Element): Element[] {
  const out: Element[] = [];
  for (let p = el.parent; p; p = p.parent) out.unshift(p);
  return out;
}

/** Structural view for the pure payload layer (an ltx Element already has this shape). */
export function asXmlNode(el: Element): XmlNode {
  return el as unknown as XmlNode;
}

/**
 * The payload element serialised so that it stands alone: namespace declarations it inherits
 * from `<item>`/`<pubsub>` are copied onto it, so the stored text can later be embedded in a
 * notification as is, without re-parsing.
 */
export function standaloneString(el: Element): string {
  const attrs: Record<string, string> = {};
  const ancestors = ancestorsOf(el);
  for (const a of ancestors) {
    for (const [k, v] of Object.entries(a.attrs)) if (k === 'xmlns' || k.startsWith('xmlns:')) attrs[k] = v;
  }
  if (!('xmlns' in el.attrs) && !el.name.includes(':')) attrs.xmlns = el.getNS() ?? '';
  const copy = new xml.Element(el.name, { ...attrs, ...el.attrs });
  copy.children = el.children; // borrowed for serialisation only; parents stay untouched
  return copy.toString();
}

/** A stored, standalone payload string, embedded as is. The template names its root for readers. */
export function storedPayload(serialised: string): RawElement {
  return new RawElement(serialised, new xml.Element('payload'));
}

export function clark(ns: string, name: string): string {
  return `{${ns}}${name}`;
}
export const grid = (name: string) => clark(NS.GRID, name);

// ---- XEP-0059 Result Set Management

/** A request's <set/>: the core's page request (topics/query.ts pageOf). */
export type RsmRequest = PageRequest;

const RSM_INT = /^\d{1,9}$/;

/** The <set/> of a request, or undefined when absent; a malformed one is bad-request. */
export function parseRsm(parent: Element): RsmRequest | undefined | Fail {
  const set = parent.getChild('set', NS.RSM);
  if (!set) return undefined;
  const out: RsmRequest = {};
  const max = set.getChildText('max');
  if (max !== null) {
    if (!RSM_INT.test(max.trim())) return fail('bad-request', 'RSM <max/> must be a non-negative integer');
    out.max = Number(max.trim());
  }
  const index = set.getChildText('index');
  if (index !== null) {
    if (!RSM_INT.test(index.trim())) return fail('bad-request', 'RSM <index/> must be a non-negative integer');
    out.index = Number(index.trim());
  }
  const after = set.getChildText('after');
  if (after !== null) out.after = after.trim();
  const before = set.getChildText('before');
  if (before !== null) out.before = before.trim();
  return out;
}

/** The answer's <set/>: first (with index), last, count. */
export function rsmSet(first: string | undefined, last: string | undefined, count: number, index?: number): Element {
  return xml(
    'set', { xmlns: NS.RSM },
    first !== undefined ? xml('first', index !== undefined ? { index: String(index) } : {}, first) : null,
    last !== undefined ? xml('last', {}, last) : null,
    xml('count', {}, String(count)),
  );
}

/** Room left for payloads in one answer: the stanza budget less the envelope around them. */
export const ENVELOPE_BYTES = 16384;
let answerBudget = 491520 - ENVELOPE_BYTES;

/** Set from `limits.stanza_bytes` at start-up. */
export function setAnswerBudget(stanzaBytes: number): void {
  answerBudget = stanzaBytes - ENVELOPE_BYTES;
}

/** Bytes the entries of one answer may take (limits.stanza_bytes less the envelope). */
export function answerBudgetBytes(): number {
  return answerBudget;
}

/**
 * The longest run of `list` (from the start, or from the end with `fromEnd`) whose payloads
 * fit one answer; never empty when `list` is not (one item always fits: payload_bytes is
 * smaller). A server closes the whole component stream on an oversized stanza, so an
 * answer must never exceed it: the caller pages the rest with RSM.
 */
export function fitAnswer<T>(list: readonly T[], bytes: (t: T) => number, fromEnd = false): T[] {
  let total = 0;
  const n = list.length;
  let k = 0;
  for (; k < n; k++) {
    const t = list[fromEnd ? n - 1 - k : k]!;
    total += bytes(t) + 128;
    if (k > 0 && total > answerBudget) break;
  }
  return fromEnd ? list.slice(n - k) : list.slice(0, k);
}
