// Controller-side cutting over ATT&CK for ICS and the OASIS reports: filter cuts, TLP caps,
// support objects carried by reference, containers kept, nothing sent when nothing matches.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ATTACK_ICS_FILE, STIX_EXAMPLES, readDataText } from '../../src/devgrid/data-files.js';
import {
  TLP1_MARKINGS, TLP2_MARKINGS, cutStix, makePredicate, parseFilter, type Filter, type TlpCap,
} from '../../src/filters/index.js';
import { parseStixPayload, type ParsedStix } from '../../src/payloads/index.js';
import { valueOf } from '../helpers/result.js';

type Obj = Record<string, any>;
const TOPIC = { contentType: 'application/stix+json;version=2.1', filterFields: {} };
const ICS_TEXT = readDataText(ATTACK_ICS_FILE);
const ICS = JSON.parse(ICS_TEXT) as { id: string; objects: Obj[] };

function parsed(text: string): ParsedStix {
  return valueOf(parseStixPayload(text));
}
function filter(fields: Record<string, string[]>): Filter {
  return valueOf(parseFilter(fields, TOPIC));
}
/** Cuts and re-reads the result, which must itself be a valid STIX payload. */
function cut(p: ParsedStix, f: Filter | null, cap: TlpCap = {}): { doc: Obj; ids: Set<string>; count: number; matched: number } | null {
  const c = cutStix(p, makePredicate(f, cap, TOPIC.filterFields));
  if (c === null) return null;
  const again = parsed(c.json);
  const doc = again.doc as Obj;
  assert.equal(again.objects.length, c.count);
  return { doc, ids: new Set(again.objects.map((o) => o.id)), count: c.count, matched: c.matched };
}
const idsWhere = (objs: Obj[], pred: (o: Obj) => boolean): Set<string> => new Set(objs.filter(pred).map((o) => o.id));

const MITRE_IDENTITY = ICS.objects.find((o) => o.type === 'identity')!.id;
const MITRE_MARKING = ICS.objects.find((o) => o.type === 'marking-definition')!.id;

describe('ATT&CK for ICS, filtered by the controller', () => {
  const p = parsed(ICS_TEXT);
  test('type=attack-pattern yields exactly the attack-patterns, plus the identity and marking they reference', () => {
    let n = 0;
    for (const o of ICS.objects) if (o.type === 'attack-pattern') n++;
    assert.equal(n, 95, 'ATT&CK for ICS 18.1 has 95 attack-patterns');
    const r = cut(p, filter({ type: ['attack-pattern'] }))!;
    assert.equal(r.matched, n);
    assert.equal(r.count, n + 2);
    assert.deepEqual(r.ids, new Set([...idsWhere(ICS.objects, (o) => o.type === 'attack-pattern'), MITRE_IDENTITY, MITRE_MARKING]));
    assert.equal(r.doc.id, ICS.id, 'the bundle keeps its id');
    assert.equal(r.doc.type, 'bundle');
  });
  test('kept objects are the published ones, unchanged', () => {
    const r = cutStix(p, makePredicate(filter({ type: ['malware'] }), {}))!;
    const byId = new Map(ICS.objects.map((o) => [o.id, o]));
    for (const o of (JSON.parse(r.json) as Obj).objects as Obj[]) assert.deepEqual(o, byId.get(o.id));
  });
  test('kill_chain_phase picks the techniques of one tactic', () => {
    const phase = ICS.objects.find((o) => o.type === 'attack-pattern')!.kill_chain_phases[0].phase_name as string;
    const want = idsWhere(ICS.objects, (o) => (o.kill_chain_phases ?? []).some((k: Obj) => k.phase_name === phase));
    const r = cut(p, filter({ kill_chain_phase: [phase.toUpperCase()] }))!;
    assert.equal(r.matched, want.size);
    assert.ok([...want].every((id) => r.ids.has(id)));
  });
  test('nothing matches: nothing is sent', () => {
    assert.equal(cut(p, filter({ type: ['sighting'] })), null);
    assert.equal(cut(p, filter({ type: ['identity', 'marking-definition'], min_confidence: ['1'] })), null);
  });
  test('support types match when the filter names them', () => {
    const r = cut(p, filter({ type: ['identity'] }))!;
    assert.equal(r.matched, 1);
    assert.deepEqual(r.ids, new Set([MITRE_IDENTITY, MITRE_MARKING]), 'and bring what they reference');
  });
  test('no filter, no cap: the payload as published, byte for byte', () => {
    const c = cutStix(p, makePredicate(null, {}))!;
    assert.equal(c.json, ICS_TEXT);
    assert.equal(c.count, ICS.objects.length);
  });
  test('one parse serves many subtopics; results do not depend on order', () => {
    const a = filter({ type: ['campaign'] }), b = filter({ type: ['intrusion-set', 'campaign'] });
    const first = cutStix(p, makePredicate(a, {}))!.json;
    cutStix(p, makePredicate(b, {}));
    assert.equal(cutStix(p, makePredicate(a, {}))!.json, first);
  });
});

// The ICS bundle carries no TLP markings: mark a copy, cycling through levels of both TLP versions.
const TLP1 = Object.fromEntries(Object.entries(TLP1_MARKINGS).map(([id, t]) => [t, id]));
const TLP2 = Object.fromEntries(Object.entries(TLP2_MARKINGS).map(([id, t]) => [t, id]));
const CYCLE: [string | null, string | undefined][] = [
  [null, undefined], ['clear', TLP2.clear], ['green', TLP1.green], ['amber', TLP2.amber], ['amber+strict', TLP2['amber+strict']], ['red', TLP1.red],
];
const TLP_DEFS: Obj[] = [
  { type: 'marking-definition', spec_version: '2.1', id: TLP1.green, created: '2017-01-20T00:00:00.000Z', definition_type: 'tlp', name: 'TLP:GREEN', definition: { tlp: 'green' } },
  { type: 'marking-definition', spec_version: '2.1', id: TLP1.red, created: '2017-01-20T00:00:00.000Z', definition_type: 'tlp', name: 'TLP:RED', definition: { tlp: 'red' } },
  ...(['clear', 'amber', 'amber+strict'] as const).map((t) => ({
    type: 'marking-definition', spec_version: '2.1', id: TLP2[t], created: '2022-10-01T00:00:00.000Z', name: `TLP:${t.toUpperCase()}`,
    extensions: { 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d': { extension_type: 'property-extension', tlp_2_0: t } },
  })),
];
const level = new Map<string, string | null>();
const marked = { ...ICS, objects: [...TLP_DEFS, ...ICS.objects.map((o, i) => {
  if (o.type === 'identity' || o.type === 'marking-definition') return o;
  const [tlp, id] = CYCLE[i % CYCLE.length]!;
  level.set(o.id, tlp);
  return id ? { ...o, object_marking_refs: [...(o.object_marking_refs ?? []), id] } : o;
})] };
const MARKED_TEXT = JSON.stringify(marked);
const atLevels = (...ls: (string | null)[]): Set<string> => new Set([...level].filter(([, l]) => ls.includes(l)).map(([id]) => id));

describe('TLP: filters and release caps on a marked copy of ATT&CK for ICS', () => {
  const p = parsed(MARKED_TEXT);
  const has = (ids: Set<string>, want: Set<string>): void => { for (const id of want) assert.ok(ids.has(id), id); };
  test('filter tlp=amber keeps only the amber objects (TLP 2.0 marking)', () => {
    const r = cut(p, filter({ tlp: ['amber'] }))!;
    const want = atLevels('amber');
    assert.equal(r.matched, want.size);
    assert.deepEqual(r.ids, new Set([...want, TLP2.amber, MITRE_MARKING, MITRE_IDENTITY]));
  });
  test('filter tlp=white,red keeps clear and red ones across TLP versions', () => {
    const r = cut(p, filter({ tlp: ['white', 'red'] }))!;
    assert.equal(r.matched, atLevels('clear', 'red').size);
    has(r.ids, new Set([TLP2.clear!, TLP1.red!]));
  });
  test('cap max_tlp=green: nothing above green, unmarked allowed', () => {
    const r = cut(p, null, { maxTlp: 'green' })!;
    const want = atLevels(null, 'clear', 'green');
    const content = new Set([...r.ids].filter((id) => level.has(id)));
    assert.deepEqual(content, want);
    has(r.ids, new Set([TLP2.clear!, TLP1.green!, MITRE_MARKING, MITRE_IDENTITY]));
    // Without a filter every object is wanted; the standard TLP definitions are public and pass any cap.
    has(r.ids, new Set([TLP2.amber!, TLP1.red!]));
  });
  test('cap max_tlp=green, unmarked=deny: only clear and green objects; unmarked support objects cut too', () => {
    const r = cut(p, null, { maxTlp: 'green', unmarked: 'deny' })!;
    assert.deepEqual(new Set([...r.ids].filter((id) => level.has(id))), atLevels('clear', 'green'));
    assert.ok(!r.ids.has(MITRE_IDENTITY) && !r.ids.has(MITRE_MARKING), 'the unmarked identity and statement marking stay behind');
    has(r.ids, new Set([TLP2.clear!, TLP1.green!]));
  });
  test('filter and cap together', () => {
    const r = cut(p, filter({ type: ['attack-pattern'] }), { maxTlp: 'amber+strict', unmarked: 'deny' })!;
    const want = new Set([...atLevels('clear', 'green', 'amber', 'amber+strict')].filter((id) => id.startsWith('attack-pattern--')));
    assert.equal(r.matched, want.size);
    has(r.ids, want);
  });
  test('a cap below every object sends nothing', () => {
    const only = parsed(JSON.stringify({ ...marked, objects: marked.objects.filter((o: Obj) => level.get(o.id) === 'red') }));
    assert.equal(cut(only, null, { maxTlp: 'amber' }), null);
  });
});

describe('containers and support objects', () => {
  const T = '2020-01-01T00:00:00.000Z';
  const base = { spec_version: '2.1', created: T, modified: T };
  const identity = { type: 'identity', id: 'identity--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061', ...base, name: 'Secret source', object_marking_refs: [TLP1.red] };
  const statement = { type: 'marking-definition', id: 'marking-definition--1b3d4b44-39b0-4e4c-a3a8-0c3e9e2c0c70', spec_version: '2.1', created: T, created_by_ref: identity.id, definition_type: 'statement', definition: { statement: 'c' } };
  const tool = (n: number, extra: Obj = {}): Obj => ({ type: 'tool', id: `tool--0c7b5b88-8ff7-4a4d-aa9d-feb398cd00${10 + n}`, ...base, name: `t${n}`, ...extra });
  const envelope = { more: true, next: 'page-2', objects: [identity, statement, tool(1, { object_marking_refs: [statement.id] }), tool(2, { created_by_ref: identity.id, object_marking_refs: [TLP1.green] })] };
  const p = parsed(JSON.stringify(envelope));

  test('an envelope keeps more/next', () => {
    const r = cut(p, filter({ id: [tool(1).id] }))!;
    assert.equal(r.doc.more, true);
    assert.equal(r.doc.next, 'page-2');
    assert.equal(r.doc.type, undefined);
  });
  test('support objects come transitively (marking → its creator)', () => {
    const r = cut(p, filter({ id: [tool(1).id] }))!;
    assert.deepEqual(r.ids, new Set([tool(1).id, statement.id, identity.id]));
    assert.equal(r.matched, 1);
  });
  test('a referenced identity above the cap is not carried', () => {
    const r = cut(p, filter({ id: [tool(2).id] }), { maxTlp: 'green' })!;
    assert.deepEqual(r.ids, new Set([tool(2).id]));
    assert.deepEqual(cut(p, filter({ id: [tool(2).id] }))!.ids, new Set([tool(2).id, identity.id]));
  });
  test('a granular marking above the cap withholds the object', () => {
    const o = tool(3, { object_marking_refs: [TLP1.green], granular_markings: [{ selectors: ['name'], marking_ref: TLP2.red }] });
    assert.equal(cut(parsed(JSON.stringify(o)), null, { maxTlp: 'amber' }), null);
  });
  test('a single object is sent as published or not at all', () => {
    const text = JSON.stringify(tool(4, { labels: ['x'] }));
    const sp = parsed(text);
    assert.deepEqual(cutStix(sp, makePredicate(filter({ labels: ['X'] }), {})), { json: text, count: 1, matched: 1 });
    assert.equal(cutStix(sp, makePredicate(filter({ labels: ['y'] }), {})), null);
  });
  test('OASIS poisonivy report: type=malware', () => {
    const raw = JSON.parse(readFileSync(`${STIX_EXAMPLES}/threat-reports/poisonivy.json`, 'utf8')) as { objects: Obj[] };
    const r = cut(parsed(JSON.stringify(raw)), filter({ type: ['malware'] }))!;
    const malware = idsWhere(raw.objects, (o) => o.type === 'malware');
    const refs = new Set(raw.objects.filter((o) => malware.has(o.id)).flatMap((o) => [o.created_by_ref, ...(o.object_marking_refs ?? [])]).filter(Boolean));
    assert.equal(r.matched, malware.size);
    assert.deepEqual(r.ids, new Set([...malware, ...refs]));
  });
});
