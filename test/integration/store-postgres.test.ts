// The controller on the PostgreSQL store (store.kind: postgres) on a real grid: registration,
// subscription and publish land in PostgreSQL, and a restarted controller answers from it —
// accounts, subscriptions, items and their seqs — with nothing in the data folder's files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { CTL, NS_GRID, id, isAccountMessage, register } from '../helpers/grid-client.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';

const PS = 'http://jabber.org/protocol/pubsub';
const RSM = 'http://jabber.org/protocol/rsm';
const T = 'threat-intel/indicators';
let pgs: PgServer;
let db: pg.Pool;
let grid: DevGrid;
const n: Record<string, NodeConnection> = {};

const iq = (type: 'get' | 'set', child: Element) => xml('iq', { type, to: CTL, id: id('p') }, child);
const indicator = (i: number) => JSON.stringify({
  type: 'indicator', spec_version: '2.1', id: `indicator--${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`,
  created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', pattern: `[ipv4-addr:value = '10.0.0.${i}']`,
  pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z',
});
const publish = (itemId: string, i: number) => n.sandbox!.iq(iq('set', xml('pubsub', { xmlns: PS },
  xml('publish', { node: T }, xml('item', { id: itemId }, xml('json', { xmlns: 'urn:xmpp:json:0' }, indicator(i)))))));
async function query(): Promise<{ id: string; seq: number }[]> {
  const q = (await n.soc1!.iq(iq('get', xml('query', { xmlns: NS_GRID, node: T },
    xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'urn:xmpp-grid:0#query')),
      xml('field', { var: 'after_seq' }, xml('value', {}, '0'))),
    xml('set', { xmlns: RSM }, xml('max', {}, '100')))))).getChild('query', NS_GRID)!;
  return q.getChildren('item').map((i) => ({ id: i.attrs.id!, seq: Number(i.attrs.seq) }));
}

before(async () => {
  pgs = await startPostgres();
  db = new pg.Pool({ connectionString: pgs.url });
  db.on('error', () => undefined);
  grid = await startDevGrid({ nodes: [{ name: 'sandbox', OU: 'lab' }, { name: 'soc1', OU: 'soc' }], env: { GRID_STORE_KIND: 'postgres', GRID_STORE_URL: pgs.url } });
  for (const name of ['sandbox', 'soc1']) n[name] = await grid.connect(name);
  await register(n.sandbox!, grid.pki.nodes.sandbox!, { deviceType: 'sandbox', groups: ['providers'] });
  const approved = n.soc1!.waitFor(isAccountMessage('approved'));
  await register(n.soc1!, grid.pki.nodes.soc1!, {});
  await approved;
});
after(async () => {
  for (const c of Object.values(n)) await c.close().catch(() => {});
  await grid?.stop();
  await db?.end();
  await pgs?.stop();
});

test('accounts, a subscription and items are stored in PostgreSQL and served again after a controller restart', async () => {
  assert.equal(grid.cfg.store.kind, 'postgres');
  const sub = await n.soc1!.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('subscribe', { node: T, jid: 'soc1@grid.test' }))));
  assert.equal(sub.attrs.type, 'result');
  const subid = sub.getChild('pubsub', PS)!.getChild('subscription')!.attrs.subid!;
  for (let i = 1; i <= 3; i++) assert.equal((await publish(`i${i}`, i)).attrs.type, 'result');
  assert.deepEqual(await query(), [{ id: 'i1', seq: 1 }, { id: 'i2', seq: 2 }, { id: 'i3', seq: 3 }]);

  const rows = await db.query<{ path: string[] }>(`SELECT path FROM control_rows WHERE store = 'accounts' AND array_length(path, 1) = 2`);
  assert.deepEqual(rows.rows.map((r) => r.path[1]).sort(), ['sandbox@grid.test', 'soc1@grid.test']);
  const subRow = await db.query(`SELECT value FROM control_rows WHERE store = 'topics' AND path = ARRAY['subscriptions', $1]`, [subid]);
  assert.equal((subRow.rows[0] as { value: { topic: string } }).value.topic, T);
  const items = await db.query<{ id: string; seq: string }>('SELECT id, seq FROM items WHERE topic = $1 ORDER BY seq', [T]);
  assert.deepEqual(items.rows.map((r) => [r.id, Number(r.seq)]), [['i1', 1], ['i2', 2], ['i3', 3]]);
  for (const f of ['accounts.json', 'topics.json']) assert.ok(!existsSync(join(grid.cfg.data, f)), `no ${f}: the state is in PostgreSQL`);

  await grid.stopController();
  await grid.startController();
  assert.deepEqual(await query(), [{ id: 'i1', seq: 1 }, { id: 'i2', seq: 2 }, { id: 'i3', seq: 3 }], 'approved account, items and seqs are back');
  const subs = await n.soc1!.iq(iq('get', xml('pubsub', { xmlns: PS }, xml('subscriptions', { node: T }))));
  assert.deepEqual(subs.getChild('pubsub', PS)!.getChild('subscriptions')!.getChildren('subscription').map((s) => s.attrs.subid), [subid]);
  assert.equal((await publish('i4', 4)).attrs.type, 'result');
  assert.deepEqual((await query()).at(-1), { id: 'i4', seq: 4 }, 'the seq continues');
});
