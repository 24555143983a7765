// Pure parts of the TAXII door (PROTOCOL §13): collection ids (the pinned test vector),
// cursors, timestamps with 0–9 fraction digits, content negotiation, filter parameters,
// the selection over the object index, and the core's per-node publish clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectionId } from '../../src/taxii/ids.js';
import { decodeCursor, encodeCursor } from '../../src/taxii/cursor.js';
import { formatMicros, parseMicros } from '../../src/topics/micros.js';
import { accepts, isTaxiiBody } from '../../src/taxii/media.js';
import { parsePageRequest, parseVersion, parseLimit } from '../../src/taxii/params.js';
import { PublishClock } from '../../src/topics/publish-clock.js';
import { ObjectIndex } from '../../src/taxii/object-index.js';
import { Selector } from '../../src/taxii/select.js';
import type { ItemStore, StoredItem } from '../../src/store/types.js';

const TOPIC = { contentType: 'application/stix+json;version=2.1', filterFields: { location: 'x_location' } };
const LIMITS = { pageDefault: 100, pageMax: 1000 };
const CAPS = { values: 256, bytes: 16384 };

test('collection id: the pinned test vector and a v4 UUID shape', () => {
  assert.equal(collectionId('controller.grid.test', 'threat-intel/indicators'), '699f2934-f14a-448b-8e46-f2254ed1052c');
  assert.match(collectionId('c.example', 'a/b'), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(collectionId('c.example', 'a/b'), collectionId('d.example', 'a/b'));
});

test('cursor: round trip; anything else is refused', () => {
  const c = { bind: '0123456789abcdef', at: { seq: 42, k: 7 } };
  assert.deepEqual(decodeCursor(encodeCursor(c)), c);
  for (const bad of ['', 'x', '!!!', Buffer.from('[1,"zz",1,1]').toString('base64url'), Buffer.from('[1,"0123456789abcdef",-1,0]').toString('base64url'), Buffer.from('[2,"0123456789abcdef",1,0]').toString('base64url'), 'A'.repeat(500)]) {
    assert.equal(decodeCursor(bad), null, bad);
  }
});

test('timestamps: 0–9 fraction digits, offsets, µs formatting; malformed undefined', () => {
  const base = Date.UTC(2026, 11, 1, 10, 0, 0) * 1000;
  assert.equal(parseMicros('2026-12-01T10:00:00Z'), base);
  assert.equal(parseMicros('2026-12-01T10:00:00.1Z'), base + 100000);
  assert.equal(parseMicros('2026-12-01T10:00:00.000001Z'), base + 1);
  assert.equal(parseMicros('2026-12-01T10:00:00.123456789Z'), base + 123456, 'nanoseconds cut to µs');
  assert.equal(parseMicros('2026-12-01T11:00:00.5+01:00'), base + 500000);
  for (const bad of ['2026-12-01', '2026-12-01T10:00:00', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-12-01T10:00:00.1234567890Z', 'yesterday', '2026-12-01T24:00:00Z']) {
    assert.equal(parseMicros(bad), undefined, bad);
  }
  assert.equal(formatMicros(base + 1), '2026-12-01T10:00:00.000001Z');
  assert.equal(formatMicros(base + 123456), '2026-12-01T10:00:00.123456Z');
  assert.equal(parseMicros(formatMicros(base + 987654)), base + 987654);
});

test('content negotiation: taxii 2.1, bare taxii+json and */* accepted, alone or in a list; bodies must be taxii+json', () => {
  for (const ok of [undefined, '', 'application/taxii+json;version=2.1', 'application/taxii+json', '*/*', 'text/html, */*;q=0.1', 'application/json, application/taxii+json; version="2.1"']) assert.equal(accepts(ok, 'taxii'), true, String(ok));
  for (const no of ['application/json', 'application/taxii+json;version=2.0', 'text/html', '*/*;q=0', 'application/stix+json;version=2.1']) assert.equal(accepts(no, 'taxii'), false, no);
  assert.equal(accepts('application/stix+json;version=2.1', 'stix'), true);
  assert.equal(isTaxiiBody('application/taxii+json;version=2.1'), true);
  assert.equal(isTaxiiBody('application/taxii+json'), true);
  assert.equal(isTaxiiBody('application/taxii+json; charset=utf-8'), true);
  for (const no of [undefined, 'application/json', 'application/taxii+json;version=2.0', 'application/stix+json']) assert.equal(isTaxiiBody(no), false, String(no));
});

test('filter parameters: known fields checked, unknown ignored, version and limit, cursor bound to the filter', () => {
  const p = (q: Record<string, string | string[]>, ep: any = { kind: 'objects' }) => parsePageRequest(q, ep, TOPIC, 'cid', LIMITS, CAPS);
  const a = p({ 'match[type]': 'indicator,malware', 'match[x_unknown]': 'zz', 'match[location]': 'berlin', added_after: '2026-01-01T00:00:00Z', limit: '5000' });
  assert.ok(a.ok);
  assert.deepEqual([...a.value.selection.types!], ['indicator', 'malware']);
  assert.ok(a.value.selection.grid, 'a grid field compiles to a test');
  assert.equal(a.value.limit, 1000, 'clamped to page_max');
  assert.equal(a.value.selection.version.last, true, 'last by default');
  for (const [q, field] of [[{ 'match[type]': 'Bad!' }, 'match[type]'], [{ 'match[id]': 'nope' }, 'match[id]'], [{ 'match[tlp]': 'purple' }, 'match[tlp]'], [{ 'match[spec_version]': 'two' }, 'match[spec_version]'], [{ added_after: 'soon' }, 'added_after'], [{ limit: '0' }, 'limit'], [{ limit: '-1' }, 'limit'], [{ 'match[version]': 'latest' }, 'match[version]']] as const) {
    const r = p(q as Record<string, string>);
    assert.ok(!r.ok, JSON.stringify(q));
    assert.match(r.text, new RegExp(field.replace(/[[\]]/g, '\\$&')));
  }
  const next = encodeCursor({ bind: a.value.bind, at: { seq: 3, k: 1 } });
  const same = p({ 'match[location]': 'berlin', 'match[type]': 'malware,indicator', added_after: '2026-01-01T00:00:00.000Z', next });
  assert.ok(same.ok, 'the same filter in another order and without limit keeps the cursor');
  assert.deepEqual(same.value.from, { seq: 3, k: 1 });
  const other = p({ 'match[type]': 'indicator', next });
  assert.ok(!other.ok);
  assert.deepEqual(parseVersion(['first', 'last'], 'last'), { all: false, first: true, last: true, at: new Set() });
  assert.equal(parseLimit(undefined, LIMITS), 100);
  const versions = p({ 'match[version]': 'first' }, { kind: 'versions', id: 'indicator--x' });
  assert.ok(versions.ok);
  assert.equal(versions.value.selection.version.all, true, 'versions lists every version');
});

/** A tiny in-memory ItemStore, enough for the index (after, get, highSeq, oldestSeq, latest). */
function memItems(): ItemStore & { put(id: string, published: string, payload: unknown): StoredItem; drop(id: string): void } {
  const items = new Map<string, StoredItem>();
  let seq = 0;
  const sorted = () => [...items.values()].sort((a, b) => a.seq - b.seq);
  const s = {
    put(id: string, published: string, payload: unknown) {
      const it = { id, publisher: 'p', payload: JSON.stringify(payload), published, seq: ++seq };
      items.delete(id);
      items.set(id, it);
      return it;
    },
    drop(id: string) { items.delete(id); },
    after: (_t: string, after: number, limit: number) => sorted().filter((i) => i.seq > after).slice(0, limit),
    get: (_t: string, id: string) => items.get(id),
    highSeq: () => seq,
    oldestSeq: () => sorted()[0]?.seq,
    latest: (_t: string, n: number) => sorted().slice(-n),
    list: () => sorted(),
  };
  return s as unknown as ItemStore & typeof s;
}

const ind = (id: string, modified: string, tlp?: string) => ({ type: 'indicator', spec_version: '2.1', id, created: '2026-01-01T00:00:00Z', modified, ...(tlp ? { object_marking_refs: [tlp] } : {}) });
const GREEN = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';
const AMBER = 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82';

test('selection: date_added = published + k µs, last/first/all, a version stored twice keeps its first, retracted items vanish, TLP cap', async () => {
  const store = memItems();
  const A = 'indicator--00000000-0000-4000-8000-00000000000a';
  const B = 'indicator--00000000-0000-4000-8000-00000000000b';
  store.put('i1', '2026-12-01T10:00:00.000000Z', { objects: [ind(A, '2026-01-01T00:00:00Z', GREEN), ind(B, '2026-01-01T00:00:00Z', AMBER)] });
  store.put('i2', '2026-12-01T10:00:00.000002Z', { objects: [ind(A, '2026-01-02T00:00:00Z', GREEN), ind(A, '2026-01-01T00:00:00Z', GREEN)] });
  const idx = new ObjectIndex(store);
  const t = await idx.of('t');
  const sel = (cap = {}) => new Selector(t, cap, () => undefined);
  const q = (version: any, extra: any = {}) => ({ version: { all: false, first: false, last: false, at: new Set<number>(), ...version }, grid: null, ...extra });
  const page = (s: Selector, v: any, extra: any = {}, limit = 10) => s.page(q(v, extra), limit, undefined).entries.map((e) => `${e.id.slice(-1)}@${e.version.slice(8, 10)}+${e.added % 10}`);
  assert.deepEqual(page(sel(), { all: true }), ['a@01+0', 'b@01+1', 'a@02+2'], 'the repeat of a@01 in i2 is not stored again');
  assert.deepEqual(page(sel(), { last: true }), ['b@01+1', 'a@02+2']);
  assert.deepEqual(page(sel(), { first: true }), ['a@01+0', 'b@01+1']);
  assert.deepEqual(page(sel({ maxTlp: 'green' }), { all: true }), ['a@01+0', 'a@02+2'], 'amber above the cap');
  assert.deepEqual(page(sel(), { all: true }, { addedAfter: parseMicros('2026-12-01T10:00:00.000001Z') }), ['a@02+2']);
  const p1 = sel().page(q({ all: true }), 1, undefined);
  assert.equal(p1.more, true);
  assert.deepEqual(sel().page(q({ all: true }), 5, p1.next).entries.length, 2);
  store.drop('i1');
  await t.sync();
  assert.deepEqual(page(sel(), { all: true }), ['a@02+2', 'a@01+3'], 'i1 gone: the repeat in i2 now stands');
  const clock = new PublishClock(store);
  const a = parseMicros(clock.stamp('t', new Date('2026-12-01T10:00:00Z'), 5))!;
  assert.ok(a >= parseMicros('2026-12-01T10:00:00.000002Z')! + 2, 'after the newest stored item and its objects');
  const b = parseMicros(clock.stamp('t', new Date('2020-01-01T00:00:00Z'), 1))!;
  assert.equal(b, a + 5, 'a clock going back still moves on by one µs per object');
});
