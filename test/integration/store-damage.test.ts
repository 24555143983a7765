// Issue 17.1 on the real grid: one flipped bit in the middle of a topic's item log costs one
// item, not the half after it; seqs are never handed out again; the loss is logged at error
// and shown by XEP-0050 #stats.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { topicToFileName } from '../../src/store/names.js';
import { CTL, NS_GRID, enrolAdmin, id, register } from '../helpers/grid-client.js';

const PS = 'http://jabber.org/protocol/pubsub';
const RSM = 'http://jabber.org/protocol/rsm';
const T = 'threat-intel/indicators';
const N = 200;
let grid: DevGrid;
const n: Record<string, NodeConnection> = {};

const iq = (type: 'get' | 'set', child: Element) => xml('iq', { type, to: CTL, id: id('d') }, child);
const indicator = (i: number) => JSON.stringify({
  type: 'indicator', spec_version: '2.1', id: `indicator--${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`,
  created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', pattern: `[ipv4-addr:value = '10.0.${i >> 8}.${i & 255}']`,
  pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z',
});
const publish = (itemId: string, i: number) => n.sandbox!.iq(iq('set', xml('pubsub', { xmlns: PS },
  xml('publish', { node: T }, xml('item', { id: itemId }, xml('json', { xmlns: 'urn:xmpp:json:0' }, indicator(i)))))));
async function query(afterSeq?: number): Promise<{ items: { id: string; seq: number }[]; count: number }> {
  const q = (await n.soc1!.iq(iq('get', xml('query', { xmlns: NS_GRID, node: T },
    xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'urn:xmpp-grid:0#query')),
      afterSeq === undefined ? null : xml('field', { var: 'after_seq' }, xml('value', {}, String(afterSeq)))),
    xml('set', { xmlns: RSM }, xml('max', {}, '1000')))))).getChild('query', NS_GRID)!;
  return {
    items: q.getChildren('item').map((i) => ({ id: i.attrs.id!, seq: Number(i.attrs.seq) })),
    count: Number(q.getChild('set', RSM)?.getChildText('count') ?? -1),
  };
}

before(async () => {
  grid = await startDevGrid({ nodes: [{ name: 'sandbox', OU: 'lab' }, { name: 'soc1', OU: 'soc' }, 'admin'] });
  for (const name of ['sandbox', 'soc1', 'admin']) n[name] = await grid.connect(name);
  await register(n.sandbox!, grid.pki.nodes.sandbox!, { deviceType: 'sandbox', groups: ['providers'] });
  await register(n.soc1!, grid.pki.nodes.soc1!, {});
  await enrolAdmin(n.admin!, grid.pki.nodes.admin!, grid.controller!.accounts);
});
after(async () => {
  for (const c of Object.values(n)) await c.close().catch(() => {});
  await grid?.stop();
});

test('a flipped bit in the middle of 200 items: one item lost, seq 201 next, after_seq=200 works, logged at error and in #stats', async () => {
  for (let i = 1; i <= N; i++) assert.equal((await publish(`i${i}`, i)).attrs.type, 'result');
  assert.equal((await query(0)).count, N);
  await grid.stopController();

  const file = join(grid.cfg.data, 'items', topicToFileName(T));
  const buf = await readFile(file);
  buf[Math.floor(buf.length / 2)]! ^= 0x04;
  await writeFile(file, buf);

  const lines: Record<string, unknown>[] = [];
  await grid.startController(pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }));
  const all = await query(0);
  assert.equal(all.count, N - 1, 'only the damaged frame is lost');
  const lostSeq = Array.from({ length: N }, (_, i) => i + 1).find((s) => !all.items.some((it) => it.seq === s))!;
  assert.deepEqual(all.items.map((it) => it.id), Array.from({ length: N }, (_, i) => `i${i + 1}`).filter((x) => x !== `i${lostSeq}`));

  assert.deepEqual((await query(N)).items, [], 'nothing after 200 yet');
  assert.equal((await publish('after-damage', 9999)).attrs.type, 'result');
  assert.deepEqual((await query(N)).items, [{ id: 'after-damage', seq: N + 1 }], 'the next publish gets 201: no seq reused');

  const errors = lines.filter((l) => l.level === 50);
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0]!.topic, T);
  assert.deepEqual(errors[0]!.seqs, [lostSeq]);
  assert.ok(Number(errors[0]!.bytes) > 0 && Number(errors[0]!.offset) > 0);

  const r = await n.admin!.iq(iq('set', xml('command', { xmlns: 'http://jabber.org/protocol/commands', node: 'urn:xmpp-grid:0#stats', action: 'execute' })));
  const stats = JSON.parse(r.getChild('command')!.getChildText('note')!) as { store: { items_damaged: number; damage: { topic: string; seqs: number[] }[] } };
  assert.equal(stats.store.items_damaged, 1);
  assert.deepEqual(stats.store.damage.map((d) => [d.topic, d.seqs]), [[T, [lostSeq]]]);
});
