// Canonical form and hash of a filter (docs/protocol.md §5): the subtopic's identity.
import { createHash } from 'node:crypto';
import type { Filter } from './types.js';
import { isCaseInsensitive } from './fields.js';

/**
 * Code-unit order, the order of JavaScript's `<` on strings (not localeCompare, which
 * depends on the ICU locale): the hash must not change with the host's locale.
 */
export function codeUnitCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** ASCII only: Unicode lower-casing ('İ' → 'i̇') would vary with the Unicode version. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function canonicalValue(field: string, raw: string): string {
  let v = raw.trim();
  if (isCaseInsensitive(field)) v = asciiLower(v);
  if (field === 'tlp' && v === 'white') return 'clear';
  // Integers in plain decimal: drop leading zeros ("070" → "70", "000" → "0").
  if (field === 'min_confidence' && /^\d+$/.test(v)) return v.replace(/^0+(?=\d)/, '');
  return v;
}

/**
 * Canonical filter: keys sorted; values trimmed, ASCII-lower-cased except for `id`,
 * `created_by_ref` and topic-declared fields, `white` → `clear`, integers in plain decimal,
 * de-duplicated and sorted. Idempotent. Sorting is by UTF-16 code unit (see codeUnitCompare).
 */
export function canonicalise(filter: Readonly<Record<string, readonly string[]>>): Filter {
  const out: Filter = {};
  for (const field of Object.keys(filter).sort(codeUnitCompare)) {
    const values = new Set<string>();
    for (const v of filter[field]!) values.add(canonicalValue(field, v));
    out[field] = [...values].sort(codeUnitCompare);
  }
  return out;
}

/**
 * The canonical filter as JSON without whitespace. Built by hand so that key order is the
 * sorted order even for keys that look like array indices (JSON.stringify would hoist them).
 */
export function canonicalJson(filter: Readonly<Record<string, readonly string[]>>): string {
  const c = canonicalise(filter);
  return `{${Object.keys(c).sort(codeUnitCompare).map((k) => `${JSON.stringify(k)}:${JSON.stringify(c[k])}`).join(',')}}`;
}

/** First 16 hex digits of SHA-256 over the UTF-8 bytes of canonicalJson. */
export function filterHash(filter: Readonly<Record<string, readonly string[]>>): string {
  return createHash('sha256').update(canonicalJson(filter), 'utf8').digest('hex').slice(0, 16);
}

/** A subtopic's node id: `<topic>~<hash>` (`~` never occurs in topic names, §3). */
export function subtopicNode(topic: string, hash: string): string {
  return `${topic}~${hash}`;
}

/** Splits a subtopic node id; null when `node` is not one. */
export function parseSubtopicNode(node: string): { topic: string; hash: string } | null {
  const m = /^([^~]+)~([0-9a-f]{16})$/.exec(node);
  return m ? { topic: m[1]!, hash: m[2]! } : null;
}
