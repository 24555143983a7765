// Filtered query over stored items (PROTOCOL §7): a urn:xmpp-grid:0#query form plus XEP-0059
// paging whose ids are seq numbers; the next page asks `<after>` = the last seq seen.
import xml from '@xmpp/xml';
import type { Element } from '@xmpp/xml';
import type { QueryItem, QueryOptions, QueryPage } from './grid-types.js';
import { buildForm, type FormField } from './forms.js';
import { FORM, NS } from './ns.js';
import { filterFields } from './filters.js';
import { readPayload } from './payloads.js';
import { usageError } from './errors.js';

/** The first page carries after_seq in the form; later pages move on with RSM `<after>` only
 *  (giving both is a bad-request). */
export function queryIq(to: string, topic: string, o: QueryOptions, after?: number): Element {
  const fields: FormField[] = filterFields(o.filter, 'plain');
  if (o.addedAfter) fields.push({ var: 'added_after', values: [o.addedAfter] });
  if (o.afterSeq !== undefined && after === undefined) {
    if (!Number.isInteger(o.afterSeq) || o.afterSeq < 0) throw usageError(`afterSeq must be a whole number ≥ 0, got ${o.afterSeq}`);
    fields.push({ var: 'after_seq', values: [String(o.afterSeq)] });
  }
  const rsm = xml('set', { xmlns: NS.RSM },
    o.max !== undefined ? xml('max', {}, String(o.max)) : null,
    after !== undefined ? xml('after', {}, String(after)) : null);
  return xml('iq', { type: 'get', to }, xml('query', { xmlns: NS.GRID, node: topic }, buildForm('submit', FORM.QUERY, fields), rsm));
}

export function parseQueryPage(result: Element, topic: string): QueryPage {
  const q = result.getChild('query', NS.GRID);
  const items: QueryItem[] = (q?.getChildren('item') ?? []).map((i) => ({
    topic, id: i.attrs.id ?? '', seq: Number(i.attrs.seq ?? NaN),
    ...(i.attrs.published ? { published: i.attrs.published } : {}),
    ...(i.attrs.publisher ? { publisher: i.attrs.publisher } : {}),
    payload: readPayload(i),
  }));
  const set = q?.getChild('set', NS.RSM);
  const count = set?.getChildText('count');
  const lastText = set?.getChildText('last');
  const lastSeq = lastText && /^\d+$/.test(lastText) ? Number(lastText) : items.at(-1)?.seq;
  return {
    items,
    ...(count && /^\d+$/.test(count) ? { count: Number(count) } : {}),
    ...(lastSeq !== undefined && Number.isFinite(lastSeq) ? { last: lastSeq } : {}),
    truncated: q?.attrs.truncated === 'true',
  };
}
