// Lists the controller returns (subtopics, publisher, disco#items, subscriptions,
// affiliations): one XEP-0059 page that fits one stanza. The page is the RSM range asked for
// (clamped to `maxPage`), then cut where the serialised entries would exceed the answer
// budget (limits.stanza_bytes less the envelope), so a list of any length answers; the
// `<set/>` says where the page starts and ends and how many there are. Each entry is
// serialised once (RawElement), when measured, and the loop gets a turn every few ms.
import type { Element } from '@xmpp/xml';
import { isFail, type Fail } from '../result.js';
import { answerBudgetBytes, RawElement, rsmSet, type RsmRequest } from './xmlnode.js';
import { pageOf } from '../topics/query.js';
import { Slice } from '../topics/slice.js';

export interface ListPaging {
  /** Entries in a page when the request gives no <max/>. */
  defaultPage: number;
  /** A larger <max/> is clamped to this. */
  maxPage: number;
}

export const LIST_PAGING: ListPaging = { defaultPage: 100, maxPage: 1000 };

export interface Page {
  entries: Element[];
  /** The RSM <set/>, or null when the whole list fits and no <set/> was asked for. */
  set: Element | null;
}

/**
 * `list` ordered, `key` its RSM marker (unique), `build` one entry. Without a <set/> in the
 * request the whole list is answered when it fits, else its first page with a <set/>
 * (XEP-0059 §2.1: a responder limiting a result says so).
 */
export async function listPage<T>(list: readonly T[], key: (t: T) => string, rsm: RsmRequest | undefined, build: (t: T) => Element, paging: ListPaging = LIST_PAGING): Promise<Page | Fail> {
  const asked = rsm ?? {};
  const range = pageOf(list, key, { ...asked, max: Math.min(asked.max ?? paging.defaultPage, paging.maxPage) }, paging.defaultPage);
  if (isFail(range)) return range;
  const backwards = asked.before !== undefined;
  const budget = answerBudgetBytes();
  const n = range.page.length;
  const entries: Element[] = [];
  let bytes = 0;
  const slice = new Slice(); // a page of 1,000 forms is built in turns, not in one stretch
  for (let k = 0; k < n; k++) {
    await slice.turn();
    const t = range.page[backwards ? n - 1 - k : k]!;
    const el = RawElement.of(build(t));
    bytes += Buffer.byteLength(el.raw);
    // Never empty: one entry always fits (filters and names are capped far below the budget).
    if (k > 0 && bytes > budget) break;
    entries.push(el);
  }
  if (backwards) entries.reverse();
  const start = backwards ? range.first + n - entries.length : range.first;
  const cut = entries.length < list.length;
  if (!rsm && !cut) return { entries, set: null };
  const firstKey = entries.length ? key(range.page[backwards ? n - entries.length : 0]!) : undefined;
  const lastKey = entries.length ? key(range.page[backwards ? n - 1 : entries.length - 1]!) : undefined;
  return { entries, set: rsmSet(firstKey, lastKey, list.length, entries.length ? start : undefined) };
}
