// The TAXII 2.1 door end to end (PROTOCOL §13) on a real XMPP server and the real HTTPS
// server with project-made certificates: every path of the table, identity (mTLS, Basic,
// pending/revoked), TLP caps on every read path, filters, paging, POST → XMPP subscribers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { collectionId } from '../../src/taxii/ids.js';
import { CTL, id } from '../helpers/grid-client.js';
import { HIDDEN, READONLY, TOPIC, indicator, markingDefinition, startTaxiiGrid, type TaxiiGrid } from '../helpers/taxii-fixture.js';

const MEDIA = 'application/taxii+json;version=2.1';
const CID = collectionId(CTL, TOPIC);
const HID = collectionId(CTL, HIDDEN);
const ROID = collectionId(CTL, READONLY);
const OBJ = `/grid/collections/${CID}/objects/`;
const EV = 'http://jabber.org/protocol/pubsub#event';

let g: TaxiiGrid;
const green = indicator({ tlp: 'green', location: 'berlin', confidence: 90 });
const amber = indicator({ tlp: 'amber', location: 'paris', confidence: 50 });
const unmarked = indicator({ location: 'berlin' });
const v1 = indicator({ tlp: 'green', created: '2026-02-01T00:00:00.000Z' });
const v2 = { ...v1, modified: '2026-02-02T00:00:00.123456Z', name: 'second version' };

function assertTaxiiError(r: { status: number; headers: Record<string, unknown>; json(): any }, status: number) {
  assert.equal(r.status, status);
  assert.equal(r.headers['content-type'], MEDIA, `error ${status} is a TAXII error message`);
  const body = r.json();
  assert.equal(body.http_status, String(status));
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.description, 'string');
}

before(async () => {
  g = await startTaxiiGrid();
  // Published over XMPP: readable over TAXII.
  await g.publish('sandbox', TOPIC, { type: 'bundle', id: 'bundle--0b1c7d1e-3b65-4a2c-9a43-1f6f7a8b9c0d', objects: [markingDefinition('green'), green, amber, unmarked] });
  await g.publish('sandbox', TOPIC, v1);
  await g.publish('sandbox', TOPIC, v2);
  await g.publish('soc1', HIDDEN, indicator({ tlp: 'green' })).catch(() => undefined); // soc1 may not publish: stays empty
});
after(() => g?.close());

test('discovery and API root (rows 1–2): default and api_roots from public_url, max_content_length = limits.payload_bytes', async () => {
  for (const path of ['/taxii2/', '/taxii2']) {
    const r = await g.as('soc1')(path, { headers: { accept: MEDIA } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], MEDIA);
    const d = r.json();
    assert.equal(d.default, `${g.base()}/grid/`);
    assert.deepEqual(d.api_roots, [`${g.base()}/grid/`]);
  }
  const root = await g.as('soc1')('/grid/', { headers: { accept: 'application/taxii+json' } });
  assert.equal(root.status, 200);
  assert.deepEqual(root.json().versions, [MEDIA]);
  assert.equal(root.json().max_content_length, g.grid.cfg.limits.payload_bytes);
  assert.equal(g.grid.controller!.ops.status.report().taxii.url, `${g.base()}/taxii2/`, 'grid-controller status shows the door');
});

test('collections (rows 3–4): STIX topics the account may discover, ids by the pinned derivation; hidden is 404', async () => {
  const soc = (await g.as('soc1')('/grid/collections/')).json();
  const byAlias = Object.fromEntries(soc.collections.map((c: any) => [c.alias, c]));
  assert.deepEqual(Object.keys(byAlias).sort(), [READONLY, HIDDEN, TOPIC].sort(), 'the IODEF topic is no collection');
  assert.deepEqual(byAlias[TOPIC], { id: CID, title: 'Indicators of compromise', description: 'IOCs', alias: TOPIC, can_read: true, can_write: false, media_types: ['application/stix+json;version=2.1'] });
  const partner = (await g.as('partner1')('/grid/collections')).json();
  assert.deepEqual(partner.collections.map((c: any) => c.alias).sort(), [READONLY, TOPIC].sort());
  assert.equal(partner.collections.find((c: any) => c.alias === READONLY).can_read, false);
  const sandbox = (await g.as('sandbox')(`/grid/collections/${CID}/`)).json();
  assert.equal(sandbox.can_write, true);
  assertTaxiiError(await g.as('partner1')(`/grid/collections/${HID}/`), 404);
  assertTaxiiError(await g.as('partner1')(`/grid/collections/${HID}/objects/`), 404);
  assertTaxiiError(await g.as('soc1')('/grid/collections/00000000-0000-4000-8000-000000000000/'), 404);
  // No collection at all: {}.
  await g.grid.controller!.accounts.setGroups('partner1@grid.test', 'test', []);
  try {
    const none = await g.as('partner1')('/grid/collections/');
    assert.equal(none.status, 200);
    assert.deepEqual(none.json(), {});
  } finally {
    await g.grid.controller!.accounts.setGroups('partner1@grid.test', 'test', ['partners']);
  }
});

test('objects (row 5): an XMPP publish is readable; date_added headers in µs; version last by default', async () => {
  const r = await g.as('soc1')(OBJ);
  assert.equal(r.status, 200);
  const body = r.json();
  const ids = body.objects.map((o: any) => o.id);
  assert.deepEqual(ids, [markingDefinition('green').id, green.id, amber.id, unmarked.id, v2.id]);
  assert.equal(body.objects[4].modified, v2.modified, 'the last version only');
  assert.equal(body.more, false);
  assert.match(String(r.headers['x-taxii-date-added-first']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.match(String(r.headers['x-taxii-date-added-last']), /\.\d{6}Z$/);
  const all = (await g.as('soc1')(`${OBJ}?match[version]=all`)).json();
  assert.deepEqual(all.objects.slice(-2).map((o: any) => o.modified), [v1.modified, v2.modified]);
  const first = (await g.as('soc1')(`${OBJ}?match[version]=first&match[id]=${v1.id}`)).json();
  assert.deepEqual(first.objects.map((o: any) => o.modified), [v1.modified]);
  const byTs = (await g.as('soc1')(`${OBJ}?match[version]=${v2.modified}&match[id]=${v1.id}`)).json();
  assert.deepEqual(byTs.objects.map((o: any) => o.name), ['second version']);
});

test('filters: match[type|id|spec_version], grid fields as match[tlp|location|min_confidence], unknown ignored, added_after strictly after', async () => {
  const ids = async (q: string, who = 'soc1') => ((await g.as(who)(`${OBJ}?${q}`)).json().objects ?? []).map((o: any) => o.id);
  assert.deepEqual(await ids('match[type]=marking-definition'), [markingDefinition('green').id]);
  assert.deepEqual(await ids(`match[id]=${green.id},${amber.id}`), [green.id, amber.id]);
  assert.deepEqual(await ids('match[spec_version]=2.0'), []);
  assert.deepEqual(await ids('match[tlp]=amber'), [amber.id]);
  assert.deepEqual(await ids('match[location]=berlin'), [green.id, unmarked.id]);
  assert.deepEqual(await ids('match[location]=berlin&match[tlp]=green'), [green.id], 'AND across fields');
  assert.deepEqual(await ids('match[min_confidence]=60'), [green.id]);
  assert.deepEqual(await ids('match[type]=indicator&match[x_unknown_field]=zz'), [green.id, amber.id, unmarked.id, v2.id], 'an unknown match field is ignored');
  const page = await g.as('soc1')(`${OBJ}?limit=2`);
  const lastAdded = String(page.headers['x-taxii-date-added-last']);
  assert.deepEqual(await ids(`added_after=${lastAdded}`), [amber.id, unmarked.id, v2.id]);
  // 0–9 fraction digits: one µs before the last is still before; nanoseconds within it are not after it.
  assert.deepEqual(await ids(`added_after=${lastAdded.replace(/(\d{6})Z$/, '$1999Z')}`), [amber.id, unmarked.id, v2.id]);
  const noFrac = lastAdded.replace(/\.\d+Z$/, 'Z');
  assert.ok((await ids(`added_after=${noFrac}`)).length >= 3, 'a timestamp without fraction is accepted');
});

test('object, versions, manifest (rows 6–7) with headers', async () => {
  const o = await g.as('soc1')(`${OBJ}${v1.id}/`);
  assert.equal(o.status, 200);
  assert.deepEqual(o.json().objects.map((x: any) => x.modified), [v2.modified]);
  assert.ok(o.headers['x-taxii-date-added-first']);
  const vs = await g.as('soc1')(`${OBJ}${v1.id}/versions/`);
  assert.equal(vs.status, 200);
  assert.deepEqual(vs.json().versions, [v1.modified, v2.modified]);
  assert.equal(vs.json().more, false);
  assert.ok(vs.headers['x-taxii-date-added-last']);
  const m = await g.as('soc1')(`/grid/collections/${CID}/manifest/?match[id]=${v1.id}&match[version]=all`);
  assert.equal(m.status, 200);
  const entries = m.json().objects;
  assert.deepEqual(entries.map((e: any) => e.version), [v1.modified, v2.modified]);
  for (const e of entries) {
    assert.equal(e.media_type, 'application/stix+json;version=2.1');
    assert.match(e.date_added, /\.\d{6}Z$/);
  }
  assert.ok(m.headers['x-taxii-date-added-first']);
  assertTaxiiError(await g.as('soc1')(`${OBJ}indicator--00000000-0000-4000-8000-000000000000/`), 404);
  assertTaxiiError(await g.as('soc1')(`${OBJ}indicator--00000000-0000-4000-8000-000000000000/versions/`), 404);
});

test('TLP cap on every read path: above the cap and unmarked objects do not exist; marking definitions always do', async () => {
  const p = g.as('partner1');
  const objs = (await p(OBJ)).json().objects.map((o: any) => o.id);
  assert.deepEqual(objs, [markingDefinition('green').id, green.id, v2.id]);
  const man = (await p(`/grid/collections/${CID}/manifest/`)).json().objects.map((o: any) => o.id);
  assert.deepEqual(man, objs);
  assertTaxiiError(await p(`${OBJ}${amber.id}/`), 404);
  assertTaxiiError(await p(`${OBJ}${amber.id}/versions/`), 404);
  assertTaxiiError(await p(`${OBJ}${unmarked.id}/`), 404);
  assert.deepEqual((await p(`${OBJ}?match[tlp]=amber`)).json(), {}, 'an empty page is {}');
  const headerOnly = await p(`${OBJ}?match[id]=${amber.id}`);
  assert.equal(headerOnly.headers['x-taxii-date-added-first'], undefined, 'headers tell nothing of hidden objects');
  assert.equal((await p(`${OBJ}${green.id}/`)).status, 200);
});

test('identity: no credentials 401 with WWW-Authenticate; pending and revoked 403 on every path; Basic token works', async () => {
  const anon = await g.anon('/taxii2/');
  assertTaxiiError(anon, 401);
  assert.equal(anon.headers['www-authenticate'], 'Basic realm="xmpp-grid"');
  for (const who of ['pending1', 'revoked1']) {
    for (const path of ['/taxii2/', '/grid/', '/grid/collections/', OBJ, '/grid/nothing-here']) assertTaxiiError(await g.as(who)(path), 403);
  }
  const tok = await g.grid.controller!.accounts.issueToken('soc1@grid.test', 'test');
  assert.ok('ok' in tok);
  const basic = { user: 'soc1@grid.test', password: tok.value };
  const r = await g.anon(OBJ, { basic });
  assert.equal(r.status, 200);
  assertTaxiiError(await g.anon(OBJ, { basic: { ...basic, password: 'nope' } }), 401);
  assertTaxiiError(await g.as('partner1')(OBJ, { basic }), 401);
});

test('errors: 403 without query or publish, 406, 415, 413, 400s, 422; always TAXII error messages', async () => {
  assertTaxiiError(await g.as('partner1')(`/grid/collections/${ROID}/objects/`), 403);
  assertTaxiiError(await g.as('partner1')(`/grid/collections/${ROID}/manifest/`), 403);
  const post = (who: string, body: string, type = MEDIA) => g.as(who)(OBJ, { method: 'POST', headers: { 'content-type': type, accept: MEDIA }, body });
  assertTaxiiError(await post('soc1', JSON.stringify({ objects: [indicator()] })), 403);
  assertTaxiiError(await g.as('soc1')(OBJ, { headers: { accept: 'application/json' } }), 406);
  assertTaxiiError(await g.as('soc1')(OBJ, { headers: { accept: 'application/taxii+json;version=2.0' } }), 406);
  assert.equal((await g.as('soc1')(OBJ, { headers: { accept: 'text/html, */*;q=0.1' } })).status, 200);
  assertTaxiiError(await post('sandbox', JSON.stringify({ objects: [indicator()] }), 'application/json'), 415);
  assertTaxiiError(await post('sandbox', JSON.stringify({ objects: [indicator({ name: 'x'.repeat(g.grid.cfg.limits.payload_bytes) })] })), 413);
  assertTaxiiError(await post('sandbox', '{not json'), 400);
  assertTaxiiError(await post('sandbox', JSON.stringify({ type: 'bundle' })), 400);
  assertTaxiiError(await post('sandbox', JSON.stringify({ objects: [{ type: 'indicator', id: 'nope' }] })), 422);
  assertTaxiiError(await g.as('soc1')(`${OBJ}?added_after=yesterday`), 400);
  assertTaxiiError(await g.as('soc1')(`${OBJ}?added_after=2026-13-01T00:00:00Z`), 400);
  assertTaxiiError(await g.as('soc1')(`${OBJ}?match[type]=Not_A_Type!`), 400);
  assertTaxiiError(await g.as('soc1')(`${OBJ}?match[tlp]=purple`), 400);
  assertTaxiiError(await g.as('soc1')(`${OBJ}?match[version]=newest`), 400);
  assertTaxiiError(await g.as('soc1')(`${OBJ}?limit=0`), 400);
  assertTaxiiError(await g.as('soc1')(`${OBJ}?next=garbage`), 400);
  assertTaxiiError(await g.as('soc1')('/grid/status/6a2f4c1e-0000-4000-8000-000000000000/'), 404);
  assertTaxiiError(await g.as('soc1')('/grid/no/such/path'), 404);
});

test('paging: limit, more, next valid without limit and bound to its filter', async () => {
  const a = (await g.as('soc1')(`${OBJ}?limit=2`)).json();
  assert.equal(a.more, true);
  assert.equal(a.objects.length, 2);
  const b = (await g.as('soc1')(`${OBJ}?next=${a.next}`)).json();
  assert.deepEqual(b.objects.map((o: any) => o.id), [amber.id, unmarked.id, v2.id]);
  assert.equal(b.more, false);
  assertTaxiiError(await g.as('soc1')(`${OBJ}?next=${a.next}&match[type]=indicator`), 400);
  assertTaxiiError(await g.as('soc1')(`/grid/collections/${CID}/manifest/?next=${a.next}`), 400);
  const clamp = (await g.as('soc1')(`${OBJ}?limit=100000`)).json();
  assert.equal(clamp.objects.length, 5);
});

test('POST: one item by the account, 202 complete status kept for its creator; XMPP subscriber with a filter gets its cut', async () => {
  const soc = g.nodes.soc1!;
  const sub = await soc.iq(xml('iq', { type: 'set', to: CTL, id: id('s') }, xml('pubsub', { xmlns: 'http://jabber.org/protocol/pubsub' },
    xml('subscribe', { node: TOPIC, jid: 'soc1@grid.test' }),
    xml('options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'http://jabber.org/protocol/pubsub#subscribe_options')),
      xml('field', { var: '{urn:xmpp-grid:0}filter.location' }, xml('value', {}, 'oslo')))))));
  assert.equal(sub.getChild('pubsub')?.getChild('subscription')?.attrs.subscription, 'subscribed');
  const oslo = indicator({ tlp: 'green', location: 'oslo' });
  const rome = indicator({ tlp: 'green', location: 'rome' });
  const got = soc.waitFor((s: Element) => s.name === 'message' && !!s.getChild('event', EV)?.getChild('items')?.getChild('item'));
  const r = await g.as('sandbox')(OBJ, { method: 'POST', headers: { 'content-type': 'application/taxii+json', accept: MEDIA }, body: JSON.stringify({ objects: [oslo, rome, green, { type: 'indicator', id: 'indicator--bad' }] }) });
  assert.equal(r.status, 202);
  assert.equal(r.headers['content-type'], MEDIA);
  const st = r.json();
  assert.equal(st.status, 'complete');
  assert.equal(st.total_count, 4);
  assert.equal(st.success_count, 3);
  assert.equal(st.failure_count, 1);
  assert.equal(st.pending_count, 0);
  assert.deepEqual(st.successes.find((s: any) => s.id === green.id), { id: green.id, version: green.modified, message: 'already present' });
  assert.equal(typeof st.failures[0].message, 'string');
  assert.match(st.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const m = await got;
  const item = m.getChild('event', EV)!.getChild('items')!.getChild('item')!;
  assert.equal(item.attrs.publisher, 'sandbox@grid.test');
  const cut = JSON.parse(item.getChild('json', 'urn:xmpp:json:0')!.getText());
  assert.deepEqual(cut.objects.map((o: any) => o.id), [oslo.id], 'cut to the subscriber filter');
  const s = await g.as('sandbox')(`/grid/status/${st.id}/`);
  assert.equal(s.status, 200);
  assert.deepEqual(s.json(), st);
  assertTaxiiError(await g.as('soc1')(`/grid/status/${st.id}/`), 404);
  const after = (await g.as('soc1')(`${OBJ}?match[location]=oslo,rome`)).json().objects.map((o: any) => o.id);
  assert.deepEqual(after, [oslo.id, rome.id]);
  // The same envelope again: nothing new is stored.
  const again = (await g.as('sandbox')(OBJ, { method: 'POST', headers: { 'content-type': MEDIA }, body: JSON.stringify({ objects: [oslo] }) })).json();
  assert.deepEqual(again.successes, [{ id: oslo.id, version: oslo.modified, message: 'already present' }]);
  assert.equal((await g.as('soc1')(`${OBJ}?match[id]=${oslo.id}&match[version]=all`)).json().objects.length, 1);
});
