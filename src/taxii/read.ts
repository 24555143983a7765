// The read endpoints (PROTOCOL §13): objects, object, versions and manifest — one selection
// (select.ts) after the account's TLP cap, rendered as each resource wants, with
// X-TAXII-Date-Added-First/-Last in microseconds and `next` while more follow.
import type { StixObject } from '../payloads/types.js';
import type { ItemStore } from '../store/types.js';
import type { TlpCap } from '../filters/types.js';
import { formatMicros } from '../topics/micros.js';
import { parseObjects, type ObjectEntry, type TopicObjects } from './object-index.js';
import { encodeCursor } from './cursor.js';
import type { Endpoint, PageRequest } from './params.js';
import { Selector } from './select.js';
import { STIX_MEDIA } from './media.js';

export interface ReadAnswer {
  /** The JSON body. */
  body: string;
  headers: Record<string, string>;
  /** Entries in the page (0: for object and versions a 404). */
  count: number;
}

/** Reads the objects of a page's entries, parsing each item once. */
export function objectLoader(store: ItemStore, topic: string): (e: ObjectEntry) => StixObject | undefined {
  const items = new Map<number, StixObject[]>();
  return (e) => {
    let objs = items.get(e.seq);
    if (!objs) {
      const item = store.get(topic, e.item);
      if (!item || item.seq !== e.seq) return undefined;
      objs = parseObjects(item.payload);
      items.set(e.seq, objs);
      if (items.size > 256) items.delete(items.keys().next().value!);
    }
    return objs[e.k];
  };
}

export function read(t: TopicObjects, store: ItemStore, cap: TlpCap, ep: Endpoint, req: PageRequest): ReadAnswer {
  const load = objectLoader(store, t.topic);
  const sel = new Selector(t, cap, load);
  const page = sel.page(req.selection, req.limit, req.from);
  const headers: Record<string, string> = {};
  const first = page.entries[0];
  const last = page.entries[page.entries.length - 1];
  if (first && last) {
    headers['x-taxii-date-added-first'] = formatMicros(first.added);
    headers['x-taxii-date-added-last'] = formatMicros(last.added);
  }
  const paging = page.more ? `"more":true,${page.next ? `"next":${JSON.stringify(encodeCursor({ bind: req.bind, at: page.next }))},` : ''}` : '"more":false,';
  if (page.entries.length === 0) {
    return { body: page.more ? `{${paging.slice(0, -1)}}` : '{}', headers, count: 0 };
  }
  let list: string;
  switch (ep.kind) {
    case 'objects':
    case 'object':
      list = `"objects":[${page.entries.map((e) => JSON.stringify(load(e) ?? null)).join(',')}]`;
      break;
    case 'manifest':
      list = `"objects":[${page.entries.map((e) => JSON.stringify({ id: e.id, date_added: formatMicros(e.added), version: e.version, media_type: STIX_MEDIA })).join(',')}]`;
      break;
    case 'versions':
      list = `"versions":[${page.entries.map((e) => JSON.stringify(e.version)).join(',')}]`;
      break;
  }
  return { body: `{${paging}${list}}`, headers, count: page.entries.length };
}
