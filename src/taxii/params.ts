// A TAXII request's filter and paging parameters (PROTOCOL §13): added_after (0–9 fraction
// digits), match[id|type|version|spec_version], the grid's filter fields as match[<field>]
// (same meaning as a subscriber's filter), limit, next. Unknown match fields are ignored;
// a malformed value of a known one is an error naming it (→ 400).
import { createHash } from 'node:crypto';
import { compileFilter } from '../filters/match.js';
import { filterFieldSpecs } from '../filters/fields.js';
import { parseFilter } from '../filters/parse.js';
import type { FilterCaps, TopicFilterFields } from '../filters/types.js';
import { parseMicros } from '../topics/micros.js';
import { isFail } from '../result.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { Position, Selection, VersionSel } from './select.js';

export type Query = Record<string, string | string[] | undefined>;

export interface PageRequest {
  selection: Selection;
  limit: number;
  from?: Position;
  /** Binds a cursor to the collection, the endpoint and the filter. */
  bind: string;
}

export type ParamResult = { ok: true; value: PageRequest } | { ok: false; text: string };

export interface PageLimits {
  pageDefault: number;
  pageMax: number;
}

/** Which resource a request reads: fixes which filters apply and what a cursor is bound to. */
export type Endpoint = { kind: 'objects' | 'manifest' } | { kind: 'object' | 'versions'; id: string };

const STANDARD = new Set(['id', 'type', 'version', 'spec_version']);

function values(q: Query, key: string): string[] | undefined {
  const raw = q[key];
  if (raw === undefined) return undefined;
  return (Array.isArray(raw) ? raw : [raw]).flatMap((v) => v.split(',')).map((v) => v.trim());
}

/** match[version]: last (default), first, all, or timestamps; combinations are OR. */
export function parseVersion(list: string[] | undefined, byDefault: 'last' | 'all'): VersionSel | string {
  const v: VersionSel = { all: false, first: false, last: false, at: new Set() };
  if (!list) {
    v[byDefault] = true;
    return v;
  }
  for (const x of list) {
    if (x === 'all') v.all = true;
    else if (x === 'first') v.first = true;
    else if (x === 'last') v.last = true;
    else {
      const us = parseMicros(x);
      if (us === undefined) return `match[version] value ${JSON.stringify(x.slice(0, 64))} is neither last, first, all nor a timestamp`;
      v.at.add(us);
    }
  }
  return v;
}

export function parseLimit(raw: string | string[] | undefined, l: PageLimits): number | string {
  if (raw === undefined) return l.pageDefault;
  const s = Array.isArray(raw) ? raw[0]! : raw;
  if (!/^\d{1,9}$/.test(s) || Number(s) < 1) return `limit must be a positive integer, got ${JSON.stringify(s.slice(0, 32))}`;
  return Math.min(Number(s), l.pageMax);
}

export function parsePageRequest(
  q: Query,
  ep: Endpoint,
  topic: { contentType: string; filterFields: TopicFilterFields },
  collectionId: string,
  limits: PageLimits,
  caps: FilterCaps,
): ParamResult {
  const bad = (text: string): ParamResult => ({ ok: false, text });
  let addedAfter: number | undefined;
  if (q.added_after !== undefined) {
    const s = Array.isArray(q.added_after) ? q.added_after[0]! : q.added_after;
    addedAfter = parseMicros(s);
    if (addedAfter === undefined) return bad(`added_after must be an RFC 3339 timestamp such as 2026-12-01T10:00:00.000001Z, got ${JSON.stringify(s.slice(0, 64))}`);
  }
  const limit = parseLimit(q.limit, limits);
  if (typeof limit === 'string') return bad(limit);
  const known = new Set(filterFieldSpecs(topic).map((f) => f.name));
  const standard: Record<string, string[]> = {};
  const grid: Record<string, string[]> = {};
  const bound: Record<string, string[]> = {};
  for (const key of Object.keys(q)) {
    const m = /^match\[([A-Za-z0-9_.-]+)\]$/.exec(key);
    if (!m) continue;
    const name = m[1]!;
    if (!STANDARD.has(name) && !known.has(name)) continue; // §13: fields the grid does not know are ignored
    const list = values(q, key)!;
    bound[name] = [...list].sort();
    if (name === 'version') continue;
    if (STANDARD.has(name)) standard[name] = list;
    else grid[name] = list;
  }
  // The object and versions endpoints name their object in the path; match[id] does not apply.
  if (ep.kind === 'object' || ep.kind === 'versions') {
    delete standard.id;
    delete bound.id;
  }
  let filterStd: Record<string, string[]> = {};
  if (Object.keys(standard).length) {
    const p = parseFilter(standard, { contentType: topic.contentType, filterFields: {} }, caps);
    if (isFail(p)) return bad(`match[${p.field}]: ${p.text}`);
    filterStd = p.value;
  }
  let gridTest = null;
  if (ep.kind !== 'versions' && ep.kind !== 'object' && Object.keys(grid).length) {
    const p = parseFilter(grid, topic, caps);
    if (isFail(p)) return bad(`match[${p.field}]: ${p.text}`);
    gridTest = compileFilter(p.value, topic.filterFields);
  }
  const version = parseVersion(ep.kind === 'versions' ? undefined : values(q, 'match[version]'), ep.kind === 'versions' ? 'all' : 'last');
  if (typeof version === 'string') return bad(version);
  const ids = ep.kind === 'object' || ep.kind === 'versions' ? new Set([ep.id]) : filterStd.id ? new Set(filterStd.id) : undefined;
  const selection: Selection = {
    ...(addedAfter !== undefined ? { addedAfter } : {}),
    ...(ids ? { ids } : {}),
    ...(filterStd.type ? { types: new Set(filterStd.type) } : {}),
    ...(filterStd.spec_version ? { specs: new Set(filterStd.spec_version) } : {}),
    version,
    grid: gridTest,
  };
  const bind = filterKey(collectionId, ep, addedAfter, bound);
  let from: Position | undefined;
  if (q.next !== undefined) {
    const s = Array.isArray(q.next) ? q.next[0]! : q.next;
    const c = decodeCursor(s);
    if (!c) return bad('next is not a cursor this server handed out');
    if (c.bind !== bind) return bad('next belongs to another collection or another filter (match[…], added_after): repeat the request that gave it');
    from = c.at;
  }
  return { ok: true, value: { selection, limit, bind, ...(from ? { from } : {}) } };
}

/** What a cursor is bound to: 16 hex of SHA-256 over the collection, endpoint and canonical filter. */
export function filterKey(collectionId: string, ep: Endpoint, addedAfter: number | undefined, match: Record<string, string[]>): string {
  const canon = JSON.stringify([collectionId, ep.kind, 'id' in ep ? ep.id : '', addedAfter ?? null, Object.keys(match).sort().map((k) => [k, match[k]])]);
  return createHash('sha256').update(canon, 'utf8').digest('hex').slice(0, 16);
}

export { encodeCursor };
