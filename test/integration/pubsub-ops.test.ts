// The rest of XEP-0060 on a real Prosody (PROTOCOL §5, §6, §8): create/configure/delete,
// IODEF payloads, items with max_items, retract with notify, purge, directed-query
// authorization, disco#items paging, and a bounce to an offline node keeping the subscription.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { CTL, NS_GRID, id, isAccountMessage, register, refusal } from '../helpers/grid-client.js';

const PS = 'http://jabber.org/protocol/pubsub';
const OWNER = 'http://jabber.org/protocol/pubsub#owner';
const EV = 'http://jabber.org/protocol/pubsub#event';
const IODEF_NS = 'urn:ietf:params:xml:ns:iodef-2.0';
let grid: DevGrid;
const n: Record<string, NodeConnection> = {};

const iq = (type: 'get' | 'set', child: Element) => xml('iq', { type, to: CTL, id: id('o') }, child);
const field = (v: string, ...values: string[]) => xml('field', { var: v }, ...values.map((x) => xml('value', {}, x)));
const form = (formType: string, ...fields: Element[]) => xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, field('FORM_TYPE', formType), ...fields);


function indicator(i: number) {
  return JSON.stringify({
    type: 'indicator', spec_version: '2.1', id: `indicator--${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`,
    created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', pattern: `[ipv4-addr:value = '10.0.0.${i % 250}']`, pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z',
  });
}
const publish = (node: string, itemId: string, payload: Element) => iq('set', xml('pubsub', { xmlns: PS }, xml('publish', { node }, xml('item', { id: itemId }, payload))));
const json = (text: string) => xml('json', { xmlns: 'urn:xmpp:json:0' }, text);

before(async () => {
  grid = await startDevGrid({ nodes: [{ name: 'tip1', OU: 'intel' }, { name: 'soc1', OU: 'soc' }, { name: 'soc2', OU: 'soc' }] });
  for (const name of ['tip1', 'soc1', 'soc2']) n[name] = await grid.connect(name);
  await register(n.tip1!, grid.pki.nodes.tip1!, { deviceType: 'tip', groups: ['providers'] });
  for (const name of ['soc1', 'soc2']) {
    const ok = n[name]!.waitFor(isAccountMessage('approved'));
    await register(n[name]!, grid.pki.nodes[name]!, { deviceType: 'siem' });
    await ok;
  }
});
after(async () => {
  for (const c of Object.values(n)) await c.close().catch(() => {});
  await grid?.stop();
});

test('create with node_config (Clark grid fields), configure, and delete with subscribers told', async () => {
  const T = 'threat-intel/tip1-feed';
  const created = await n.tip1!.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('create', { node: T }),
    xml('configure', {}, form('http://jabber.org/protocol/pubsub#node_config',
      field('pubsub#title', 'TIP feed'), field('pubsub#max_items', '3'),
      field('{urn:xmpp-grid:0}content_type', 'application/stix+json;version=2.1'), field('{urn:xmpp-grid:0}filtering', 'controller'),
      field('pubsub#some_future_field', 'ignored'))))));
  assert.equal(created.attrs.type, 'result');
  let e = await refusal(n.soc1!.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('create', { node: 'threat-intel/soc-made' })))));
  assert.deepEqual([e.type, e.condition], ['auth', 'forbidden'], 'soc may not create');
  e = await refusal(n.tip1!.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('create', { node: T })))));
  assert.equal(e.condition, 'conflict');

  // items: max_items keeps the newest 3, and `max_items` retrieval gives the N newest.
  for (let i = 1; i <= 5; i++) await n.tip1!.iq(publish(T, `i${i}`, json(indicator(i))));
  const items = (await n.soc1!.iq(iq('get', xml('pubsub', { xmlns: PS }, xml('items', { node: T, max_items: '2' }))))).getChild('pubsub', PS)!.getChild('items')!;
  assert.deepEqual(items.getChildren('item').map((i) => i.attrs.id), ['i4', 'i5']);
  const all = (await n.soc1!.iq(iq('get', xml('pubsub', { xmlns: PS }, xml('items', { node: T }))))).getChild('pubsub', PS)!.getChild('items')!;
  assert.deepEqual(all.getChildren('item').map((i) => i.attrs.id), ['i3', 'i4', 'i5'], 'bounded by pubsub#max_items = 3');

  // configure: the owner lowers max_items; the history follows.
  await n.tip1!.iq(iq('set', xml('pubsub', { xmlns: OWNER }, xml('configure', { node: T }, form('http://jabber.org/protocol/pubsub#node_config', field('pubsub#max_items', '1'))))));
  const after1 = (await n.soc1!.iq(iq('get', xml('pubsub', { xmlns: PS }, xml('items', { node: T }))))).getChild('pubsub', PS)!.getChild('items')!;
  assert.deepEqual(after1.getChildren('item').map((i) => i.attrs.id), ['i5']);

  await n.soc1!.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('subscribe', { node: T, jid: 'soc1@grid.test' }))));
  const deleted = n.soc1!.waitFor((s) => s.getChild('event', EV)?.getChild('delete')?.attrs.node === T);
  await n.tip1!.iq(iq('set', xml('pubsub', { xmlns: OWNER }, xml('delete', { node: T }))));
  await deleted;
  e = await refusal(n.soc1!.iq(iq('get', xml('pubsub', { xmlns: PS }, xml('items', { node: T })))));
  assert.equal(e.condition, 'item-not-found');
});

test('policy-declared topics cannot be deleted or reconfigured over XMPP', async () => {
  const e = await refusal(n.tip1!.iq(iq('set', xml('pubsub', { xmlns: OWNER }, xml('delete', { node: 'threat-intel/indicators' })))));
  assert.equal(e.condition, 'not-allowed');
});

test('IODEF on its topic: valid documents pass, a wrong root is invalid-payload', async () => {
  const T = 'incidents/iodef';
  const doc = xml('IODEF-Document', { xmlns: IODEF_NS, version: '2.00', 'xml:lang': 'en' },
    xml('Incident', { purpose: 'reporting' },
      xml('IncidentID', { name: 'csirt.example.com' }, '189493'),
      xml('GenerationTime', {}, '2026-11-23T10:00:00Z'),
      xml('Contact', { type: 'organization', role: 'creator' }, xml('ContactName', {}, 'Example CSIRT'))));
  const got = n.soc2!.waitFor((s) => s.getChild('event', EV)?.getChild('items')?.attrs.node === T);
  await n.soc2!.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('subscribe', { node: T, jid: 'soc2@grid.test' }))));
  const r = await n.soc1!.iq(publish(T, 'inc-1', doc));
  assert.equal(r.attrs.type, 'result');
  const m = await got;
  assert.ok(m.getChild('event', EV)!.getChild('items')!.getChild('item')!.getChild('IODEF-Document', IODEF_NS), 'the document arrives as XML');
  const e = await refusal(n.soc1!.iq(publish(T, 'inc-2', xml('Report', { xmlns: 'urn:example:other' }))));
  assert.deepEqual([e.type, e.condition, e.appCondition?.name], ['modify', 'bad-request', 'invalid-payload']);
});

test('retract with notify, and purge, reach the subscribers', async () => {
  const T = 'threat-intel/indicators';
  await n.tip1!.iq(iq('set', xml('publisher', { xmlns: NS_GRID, node: T })));
  await n.soc1!.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('subscribe', { node: T, jid: 'soc1@grid.test' }))));
  await n.tip1!.iq(publish(T, 'r1', json(indicator(7))));
  const retracted = n.soc1!.waitFor((s) => s.getChild('event', EV)?.getChild('items')?.getChild('retract')?.attrs.id === 'r1');
  await n.tip1!.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('retract', { node: T, notify: 'true' }, xml('item', { id: 'r1' })))));
  await retracted;
  const e = await refusal(n.tip1!.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('retract', { node: T }, xml('item', { id: 'r1' }))))));
  assert.equal(e.condition, 'item-not-found');
  const purged = n.soc1!.waitFor((s) => s.getChild('event', EV)?.getChild('purge')?.attrs.node === T);
  await n.tip1!.iq(iq('set', xml('pubsub', { xmlns: OWNER }, xml('purge', { node: T }))));
  await purged;
  const left = (await n.soc1!.iq(iq('get', xml('pubsub', { xmlns: PS }, xml('items', { node: T }))))).getChild('pubsub', PS)!.getChild('items')!;
  assert.equal(left.getChildren('item').length, 0);
  // The publisher's affiliation.
  const aff = (await n.tip1!.iq(iq('get', xml('pubsub', { xmlns: PS }, xml('affiliations', {}))))).getChild('pubsub', PS)!.getChild('affiliations')!;
  assert.ok(aff.getChildren('affiliation').some((a) => a.attrs.node === T && a.attrs.affiliation === 'publisher'));
});

test('§8 directed-query authorization: publishers ask, others are refused', async () => {
  const T = 'threat-intel/indicators';
  const ask = (who: NodeConnection, jid: string) => who.iq(iq('get', xml('authorize', { xmlns: NS_GRID, jid, node: T, operation: 'query' })));
  const yes = await ask(n.tip1!, 'soc2@grid.test');
  assert.equal(yes.getChild('authorize', NS_GRID)?.attrs.decision, 'permit');
  const no = await ask(n.tip1!, 'stranger@grid.test');
  assert.equal(no.getChild('authorize', NS_GRID)?.attrs.decision, 'deny');
  const e = await refusal(ask(n.soc2!, 'soc1@grid.test'));
  assert.equal(e.condition, 'forbidden', 'only publishers of the topic may ask');
});

test('disco#items on the controller pages with XEP-0059', async () => {
  const page = async (after?: string) => (await n.soc1!.iq(iq('get', xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' },
    xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('max', {}, '1'), after ? xml('after', {}, after) : null))))).getChild('query')!;
  const p1 = await page();
  assert.equal(p1.getChildren('item').length, 1);
  const set = p1.getChild('set', 'http://jabber.org/protocol/rsm')!;
  assert.equal(set.getChildText('count'), '3', 'soc sees 3 topics');
  const p2 = await page(set.getChildText('last')!);
  assert.notEqual(p2.getChildren('item')[0]!.attrs.node, p1.getChildren('item')[0]!.attrs.node);
});

test('a notification bounced by an offline node never ends its subscription', { timeout: 20_000 }, async () => {
  const T = 'threat-intel/attack-patterns';
  // soc2 goes fully offline (no resource left), so Prosody bounces what is addressed to it.
  const c = n.soc2!;
  delete n.soc2;
  const full = c.jid;
  await c.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('subscribe', { node: T, jid: full }))));
  await c.close();
  const before = grid.controller!.topics.subscriptionsOf(T).filter((s) => s.jid === full).length;
  assert.equal(before, 1);
  const bounced = grid.controller!.link.xmpp;
  const got = new Promise<void>((resolve) => bounced.on('stanza', (s: Element) => s.name === 'message' && s.attrs.type === 'error' && s.attrs.from === full && resolve()));
  await n.tip1!.iq(iq('set', xml('publisher', { xmlns: NS_GRID, node: T })));
  await n.tip1!.iq(publish(T, 'b1', json(JSON.stringify({ type: 'bundle', id: 'bundle--00000000-0000-4000-8000-00000000000b', objects: [JSON.parse(indicator(9))] }))));
  await got;
  assert.equal(grid.controller!.topics.subscriptionsOf(T).filter((s) => s.jid === full).length, 1, 'still subscribed');
});

test('a change of an account’s groups ends the subscriptions it no longer permits, without re-login', async () => {
  const T = 'threat-intel/indicators';
  assert.ok(grid.controller!.topics.subscriptionsOf(T).some((s) => s.owner === 'soc1@grid.test'));
  const ended = n.soc1!.waitFor((s) => s.getChild('event', EV)?.getChild('subscription')?.attrs.subscription === 'none');
  const told = n.soc1!.waitFor((s) => s.name === 'message' && !!s.getChild('account', NS_GRID));
  const r = await grid.controller!.accounts.setGroups('soc1@grid.test', 'test', []);
  assert.ok('ok' in r);
  assert.equal((await ended).getChild('event', EV)!.getChild('subscription')!.attrs.node, T);
  assert.equal((await told).getChild('account', NS_GRID)!.getChildren('group').length, 0);
  assert.ok(!grid.controller!.topics.subscriptionsOf(T).some((s) => s.owner === 'soc1@grid.test'));
});
