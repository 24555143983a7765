// The filtered query over stored items (PROTOCOL §7), door-neutral: page sizes (default,
// cap), the checks of every parameter a door hands over as text (a malformed one is an error,
// never NaN), and the paging of an ordered list by key (XEP-0059-like, used for items
// retrieval). The XMPP door reads its form and RSM <set/> into a QueryRequest; another door
// reads its own parameters the same way. Filters, TLP caps and the scan are ItemService.query.
import { fail, isFail, ok, type Fail, type Result } from '../result.js';

/** Items in a page when the request names no size, and the largest page (PROTOCOL §7). */
export const QUERY_DEFAULT_LIMIT = 100;
export const QUERY_MAX_LIMIT = 1000;

/** A seq: a non-negative integer of at most 15 digits (exact as a JS number). */
export const SEQ_PATTERN = /^\d{1,15}$/;
/** XEP-0082 DateTime: CCYY-MM-DDThh:mm:ss[.s…]TZD (any number of fraction digits). */
export const DATE_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** What a door asks, as it received it. */
export interface QueryRequest {
  /** Filter fields → values (the §5 filter form without the `filter.` prefix). */
  filter?: Record<string, string[]>;
  /** Items after this seq (exclusive). */
  afterSeq?: string | number;
  /** Items published strictly after this date-time. */
  addedAfter?: string;
  /** Page size: default QUERY_DEFAULT_LIMIT, clamped to QUERY_MAX_LIMIT. */
  limit?: string | number;
}

/** A query once checked: every field well formed. */
export interface ItemQuery {
  filter: Record<string, string[]>;
  afterSeq?: number;
  /** Milliseconds since the epoch. */
  addedAfter?: number;
  limit: number;
}

/** A seq given as text or a number, or the reason it is none (naming `field`). */
export function parseSeq(v: string | number, field = 'after_seq'): number | Fail {
  const s = typeof v === 'number' ? String(v) : v.trim();
  if (!SEQ_PATTERN.test(s)) return fail('bad-request', `${field} takes one non-negative integer`);
  return Number(s);
}

/** An XEP-0082 date-time → ms since the epoch, or the reason it is none. */
export function parseDateTime(v: string, field = 'added_after'): number | Fail {
  const s = v.trim();
  const t = DATE_TIME_PATTERN.test(s) ? Date.parse(s) : NaN;
  if (Number.isNaN(t)) return fail('bad-request', `${field} takes one XEP-0082 date-time, e.g. 2024-05-01T00:00:00Z`);
  return t;
}

/** The page size: absent → the default; larger than the cap → the cap; malformed → an error. */
export function pageLimit(v: string | number | undefined, field = 'limit'): number | Fail {
  if (v === undefined) return QUERY_DEFAULT_LIMIT;
  const s = typeof v === 'number' ? String(v) : v.trim();
  if (!/^\d{1,9}$/.test(s)) return fail('bad-request', `${field} takes a non-negative integer`);
  return Math.min(Number(s), QUERY_MAX_LIMIT);
}

export function checkQuery(q: QueryRequest): Result<ItemQuery> {
  const out: ItemQuery = { filter: q.filter ?? {}, limit: QUERY_DEFAULT_LIMIT };
  const limit = pageLimit(q.limit);
  if (isFail(limit)) return limit;
  out.limit = limit;
  if (q.afterSeq !== undefined) {
    const seq = parseSeq(q.afterSeq);
    if (isFail(seq)) return seq;
    out.afterSeq = seq;
  }
  if (q.addedAfter !== undefined) {
    const t = parseDateTime(q.addedAfter);
    if (isFail(t)) return t;
    out.addedAfter = t;
  }
  return ok(out);
}

/** A page request over an ordered list of unique keys: after/before (a key; '' = the end)/index/max. */
export interface PageRequest {
  max?: number;
  after?: string;
  before?: string;
  index?: number;
}

/** The page of `list` a PageRequest names, and where it starts; an unknown key is item-not-found. */
export function pageOf<T>(list: readonly T[], key: (t: T) => string, req: PageRequest, defaultMax: number): { page: T[]; first: number } | Fail {
  let start = 0;
  let end = list.length;
  if (req.after !== undefined) {
    const i = list.findIndex((t) => key(t) === req.after);
    if (i === -1) return fail('item-not-found', `${req.after} (after) is not in this result set`);
    start = i + 1;
  } else if (req.index !== undefined) start = Math.min(req.index, list.length);
  const max = req.max ?? defaultMax;
  if (req.before !== undefined) {
    if (req.before !== '') {
      const i = list.findIndex((t) => key(t) === req.before);
      if (i === -1) return fail('item-not-found', `${req.before} (before) is not in this result set`);
      end = i;
    }
    start = Math.max(start, end - max);
  } else end = Math.min(end, start + max);
  return { page: list.slice(start, end), first: start };
}
