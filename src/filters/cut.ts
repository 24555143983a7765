// Controller-side cutting (docs/protocol.md §5): keep the objects a subtopic (or a TLP cap)
// lets through plus the marking definitions and identities they reference.
// Hot path: one parse per published item, one cut per subtopic; linear in the objects,
// and each object is serialised at most once per item however many subtopics keep it.
import type { ParsedStix, StixObject } from '../payloads/types.js';
import type { Filter, StixCut, TlpCap, TopicFilterFields } from './types.js';
import { SUPPORT_TYPES, compileFilter } from './match.js';
import { isStandardTlpMarking, objectTlp, tlpAllowed } from './tlp.js';

/**
 * Decides which objects stay. `release`, when present, is the TLP cap alone: support
 * objects pulled in by reference must pass it too, so a cap is never bypassed that way.
 */
export type KeepFn = ((obj: StixObject) => boolean) & { release?: (obj: StixObject) => boolean };

/**
 * The keep-test for one subscription / query: its filter (null or empty: none) AND the
 * node's TLP cap (counting granular markings, so no part above the cap leaks).
 */
export function makePredicate(filter: Filter | null, cap: TlpCap, topicFilterFields: TopicFilterFields = {}): KeepFn {
  const match = filter && Object.keys(filter).length > 0 ? compileFilter(filter, topicFilterFields) : null;
  const capped = cap.maxTlp !== undefined || cap.unmarked === 'deny';
  // The standard TLP definitions are public by nature; they describe, not carry, data.
  const release = capped
    ? (o: StixObject) => (o.type === 'marking-definition' && isStandardTlpMarking(o.id)) ||
      tlpAllowed(objectTlp(o, { granular: true }), cap)
    : undefined;
  const keep: KeepFn = (o) => (match === null || match(o)) && (release === undefined || release(o));
  if (release) keep.release = release;
  return keep;
}

const jsonOf = new WeakMap<object, string>();
const headOf = new WeakMap<object, string>();

function objectJson(o: StixObject): string {
  let s = jsonOf.get(o);
  if (s === undefined) { s = JSON.stringify(o); jsonOf.set(o, s); }
  return s;
}

/** The container up to its `objects` list: every other top-level property (id, more…) kept. */
function containerHead(doc: Record<string, unknown>): string {
  let s = headOf.get(doc);
  if (s === undefined) {
    const rest = { ...doc };
    delete rest.objects;
    const open = JSON.stringify(rest).slice(0, -1);
    s = `${open}${open === '{' ? '' : ','}"objects":[`;
    headOf.set(doc, s);
  }
  return s;
}

function addRefs(o: StixObject, into: Set<string>): void {
  if (typeof o.created_by_ref === 'string') into.add(o.created_by_ref);
  if (Array.isArray(o.object_marking_refs)) for (const r of o.object_marking_refs) if (typeof r === 'string') into.add(r);
  if (Array.isArray(o.granular_markings)) {
    for (const g of o.granular_markings) {
      const r = g && typeof g === 'object' ? (g as { marking_ref?: unknown }).marking_ref : undefined;
      if (typeof r === 'string') into.add(r);
    }
  }
}

/** Pulls in referenced support objects, transitively (a marking's creator, …). */
function keepSupport(objs: readonly StixObject[], kept: Uint8Array, support: number[], keep: KeepFn): number {
  const wanted = new Set<string>();
  for (let i = 0; i < objs.length; i++) if (kept[i]) addRefs(objs[i]!, wanted);
  let added = 0;
  for (let changed = true; changed;) {
    changed = false;
    for (const j of support) {
      const o = objs[j]!;
      if (kept[j] || !wanted.has(o.id) || (keep.release && !keep.release(o))) continue;
      kept[j] = 1; added++; changed = true;
      addRefs(o, wanted);
    }
  }
  return added;
}

/**
 * Cuts a parsed payload: null when no object matches by itself (nothing is sent). A bundle
 * keeps its id and other top-level properties; an uncut payload is returned byte for byte.
 */
export function cutStix(parsed: ParsedStix, keep: KeepFn): StixCut | null {
  const objs = parsed.objects;
  if (parsed.kind === 'object') return keep(objs[0]!) ? { json: parsed.text, count: 1, matched: 1 } : null;
  const kept = new Uint8Array(objs.length);
  const support: number[] = [];
  let matched = 0;
  for (let i = 0; i < objs.length; i++) {
    const o = objs[i]!;
    if (keep(o)) { kept[i] = 1; matched++; } else if (SUPPORT_TYPES.has(o.type)) support.push(i);
  }
  if (matched === 0) return null;
  const count = matched + (support.length > 0 ? keepSupport(objs, kept, support, keep) : 0);
  if (count === objs.length) return { json: parsed.text, count, matched };
  const parts: string[] = [];
  for (let i = 0; i < objs.length; i++) if (kept[i]) parts.push(objectJson(objs[i]!));
  return { json: `${containerHead(parsed.doc as Record<string, unknown>)}${parts.join(',')}]}`, count, matched };
}
