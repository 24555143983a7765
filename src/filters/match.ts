// Does a STIX object match a filter? Values within a field OR, fields AND (TAXII 2.1 match[]).
// compileFilter builds the test once; delivery calls it for every object of every publish.
import type { StixObject } from '../payloads/types.js';
import { SCO_TYPES } from '../payloads/stix-rules.js';
import type { Filter, TopicFilterFields } from './types.js';
import { asciiLower } from './canonical.js';
import { objectTlp } from './tlp.js';

export type ObjectTest = (obj: StixObject) => boolean;

/** Marking definitions and identities travel along with what references them (cut.ts). */
export const SUPPORT_TYPES: ReadonlySet<string> = new Set(['marking-definition', 'identity']);

const never: ObjectTest = () => false;

function anyString(list: unknown, values: ReadonlySet<string>, lower: boolean): boolean {
  if (!Array.isArray(list)) return false;
  for (const s of list) if (typeof s === 'string' && values.has(lower ? asciiLower(s) : s)) return true;
  return false;
}

function builtinTest(name: string, values: ReadonlySet<string>, first: string): ObjectTest | undefined {
  switch (name) {
    case 'type': return (o) => values.has(o.type);
    case 'id': return (o) => values.has(o.id);
    // SCOs may omit spec_version; only 2.1 payloads are accepted, so absent means 2.1.
    case 'spec_version': return (o) => values.has(typeof o.spec_version === 'string' ? o.spec_version : SCO_TYPES.has(o.type) ? '2.1' : '');
    case 'labels': return (o) => anyString(o.labels, values, true);
    case 'tlp': return (o) => { const t = objectTlp(o); return t !== undefined && values.has(t); };
    case 'min_confidence': {
      const n = Number(first);
      return Number.isFinite(n) ? (o) => typeof o.confidence === 'number' && o.confidence >= n : never;
    }
    case 'created_by_ref': return (o) => typeof o.created_by_ref === 'string' && values.has(o.created_by_ref);
    case 'pattern_type': return (o) => typeof o.pattern_type === 'string' && values.has(asciiLower(o.pattern_type));
    case 'kill_chain_phase': return (o) => Array.isArray(o.kill_chain_phases) && o.kill_chain_phases.some(
      (p: unknown) => typeof p === 'object' && p !== null && typeof (p as { phase_name?: unknown }).phase_name === 'string' &&
        values.has(asciiLower((p as { phase_name: string }).phase_name)));
    default: return undefined;
  }
}

/** Walks a dotted path; an array anywhere on the way matches when any element does. */
function anyAtPath(v: unknown, path: readonly string[], i: number, values: ReadonlySet<string>): boolean {
  if (Array.isArray(v)) return v.some((e) => anyAtPath(e, path, i, values));
  if (i === path.length) {
    return (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') && values.has(String(v));
  }
  // Own properties only: a path must never wander into Object.prototype.
  if (typeof v !== 'object' || v === null || !Object.hasOwn(v, path[i]!)) return false;
  return anyAtPath((v as Record<string, unknown>)[path[i]!], path, i + 1, values);
}

function fieldTest(name: string, values: readonly string[], declared: TopicFilterFields): ObjectTest {
  const set = new Set(values);
  const builtin = builtinTest(name, set, values[0] ?? '');
  if (builtin) return builtin;
  if (Object.hasOwn(declared, name)) {
    const path = declared[name]!.split('.');
    return (o) => anyAtPath(o, path, 0, set);
  }
  return never; // a field the topic does not know never matches: fail closed
}

/**
 * Compiles a (canonical) filter into a test. The empty filter matches everything. Marking
 * definitions and identities never match by themselves unless the filter's `type` names
 * them: they are support objects, carried along by what references them.
 */
export function compileFilter(filter: Filter, topicFilterFields: TopicFilterFields = {}): ObjectTest {
  const names = Object.keys(filter);
  if (names.length === 0) return () => true;
  const tests = names.map((n) => fieldTest(n, filter[n]!, topicFilterFields));
  const namedTypes = new Set(filter.type ?? []);
  return (o) => {
    if (SUPPORT_TYPES.has(o.type) && !namedTypes.has(o.type)) return false;
    for (const t of tests) if (!t(o)) return false;
    return true;
  };
}

/** One-off match; on the delivery path compile once with compileFilter instead. */
export function matchObject(filter: Filter, obj: StixObject, topicFilterFields: TopicFilterFields = {}): boolean {
  return compileFilter(filter, topicFilterFields)(obj);
}
