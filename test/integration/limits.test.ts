// Stanza size limits on a real Prosody: the server closes the whole component stream on an
// oversized stanza, so answers are cut to fit (and paged with RSM), and should the stream
// ever be closed anyway, the link comes back by itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { CTL, NS_GRID, id, register } from '../helpers/grid-client.js';

const PS = 'http://jabber.org/protocol/pubsub';
const RSM = 'http://jabber.org/protocol/rsm';
const T = 'threat-intel/indicators';
let grid: DevGrid;
let pub: NodeConnection;
let soc: NodeConnection;

const iq = (type: 'get' | 'set', child: Element) => xml('iq', { type, to: CTL, id: id('l') }, child);
function big(i: number): string {
  return JSON.stringify({
    type: 'indicator', spec_version: '2.1', id: `indicator--${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`,
    created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', pattern: "[ipv4-addr:value = '10.1.1.1']",
    pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z', description: 'x'.repeat(120_000),
  });
}
function query(after?: string) {
  return iq('get', xml('query', { xmlns: NS_GRID, node: T },
    xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'urn:xmpp-grid:0#query'))),
    xml('set', { xmlns: RSM }, xml('max', {}, '100'), after ? xml('after', {}, after) : null)));
}

before(async () => {
  grid = await startDevGrid({ nodes: [{ name: 'sandbox', OU: 'lab' }, { name: 'soc1', OU: 'soc' }] });
  pub = await grid.connect('sandbox');
  soc = await grid.connect('soc1');
  await register(pub, grid.pki.nodes.sandbox!, { deviceType: 'sandbox', groups: ['providers'] });
  await register(soc, grid.pki.nodes.soc1!, {});
  for (let i = 1; i <= 8; i++) {
    await pub.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('publish', { node: T }, xml('item', { id: `big${i}` }, xml('json', { xmlns: 'urn:xmpp:json:0' }, big(i)))))));
  }
});
after(async () => {
  await pub?.close().catch(() => {});
  await soc?.close().catch(() => {});
  await grid?.stop();
});

test('a query whose answer would exceed one stanza is cut to fit and paged with RSM', async () => {
  const seen: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 10 && seen.length < 8; pages++) {
    const q = (await soc.iq(query(after))).getChild('query', NS_GRID)!;
    const items = q.getChildren('item');
    assert.ok(items.length >= 1 && items.length < 8, `a page holds ${items.length} items`);
    assert.ok(q.toString().length < 512 * 1024, 'the answer fits Prosody’s component limit');
    seen.push(...items.map((i) => i.attrs.id!));
    after = q.getChild('set', RSM)!.getChildText('last')!;
  }
  assert.deepEqual(seen, ['big1', 'big2', 'big3', 'big4', 'big5', 'big6', 'big7', 'big8']);
  assert.equal(grid.controller!.link.online, true, 'the component stream was never closed');
});

test('XEP-0060 items retrieval is cut the same way', async () => {
  const r = (await soc.iq(iq('get', xml('pubsub', { xmlns: PS }, xml('items', { node: T }))))).getChild('pubsub', PS)!;
  const ids = r.getChild('items')!.getChildren('item').map((i) => i.attrs.id);
  assert.ok(ids.length >= 1 && ids.length < 8);
  assert.equal(ids.at(-1), 'big8', 'the newest items come first to fit');
  assert.equal(r.getChild('set', RSM)?.getChildText('count'), '8');
});

test('if the server closes the component stream anyway, the link comes back once (no conflict loop)', async () => {
  const link = grid.controller!.link;
  const lost = once(link, 'offline');
  const back = once(link, 'online');
  // A stanza over the server's limit: Prosody closes the stream (this is what answers must never do).
  // The egress check never lets such a stanza out, so it is written past it, raw.
  await link.writeRaw(xml('message', { to: 'soc1@grid.test', from: CTL }, xml('body', {}, 'x'.repeat(600_000))).toString()).catch(() => undefined);
  await lost;
  await back;
  // A second attempt used to be scheduled while the first was still handshaking; it opened a
  // second session that the server refused (conflict) and that took the first one down.
  assert.equal(link.reconnectPending, false, 'no other reconnect attempt is pending once online');
  const r = await soc.iq(xml('iq', { type: 'get', to: CTL, id: id('ping') }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(r.attrs.type, 'result');
  assert.equal(link.online, true);
});
