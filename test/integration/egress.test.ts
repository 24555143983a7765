// Issue 16 on the real Prosody: no request of an approved node can make the server close the
// component stream (it does, for every node, on one stanza over component_stanza_size_limit).
// Large subtopic lists — five ~115 KB filters, 2,000 subtopics — answer in RSM pages that fit,
// and the link never goes down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { openControlStore } from '../../src/store/index.js';
import { EMPTY_TOPICS } from '../../src/topics/service.js';
import type { Subscription, TopicsState } from '../../src/topics/types.js';
import { canonicalise, filterHash, subtopicNode } from '../../src/filters/index.js';
import { CTL, NS_GRID, id, refusal, register } from '../helpers/grid-client.js';

const PS = 'http://jabber.org/protocol/pubsub';
const RSM = 'http://jabber.org/protocol/rsm';
const T = 'threat-intel/indicators';
/** Prosody's component_stanza_size_limit in the dev grid: the line that must never be crossed. */
const SERVER_LIMIT = 512 * 1024;
let grid: DevGrid;
let pub: NodeConnection;
let soc1: NodeConnection;
let soc2: NodeConnection;
let lost = 0;

const iq = (type: 'get' | 'set', child: Element) => xml('iq', { type, to: CTL, id: id('e') }, child);
const field = (v: string, ...values: string[]) => xml('field', { var: v }, ...values.map((x) => xml('value', {}, x)));
function subscribeStanza(jid: string, filter: Record<string, string[]>) {
  return iq('set', xml('pubsub', { xmlns: PS }, xml('subscribe', { node: T, jid }),
    xml('options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      field('FORM_TYPE', 'http://jabber.org/protocol/pubsub#subscribe_options'),
      ...Object.entries(filter).map(([k, v]) => field(`{urn:xmpp-grid:0}filter.${k}`, ...v))))));
}
function watchLink(): void {
  grid.controller!.link.on('offline', () => lost++);
}

/** Pages a §6 list (`subtopics` get or `publisher` set) through RSM <after/>. */
async function pageAll(c: NodeConnection, name: 'subtopics' | 'publisher'): Promise<{ nodes: string[]; pages: number; count: number; slowestMs: number; largest: number }> {
  const nodes: string[] = [];
  let after: string | undefined;
  let count = -1;
  let pages = 0;
  let slowestMs = 0;
  let largest = 0;
  while (count === -1 || nodes.length < count) {
    const t0 = performance.now();
    const r = await c.iq(iq(name === 'subtopics' ? 'get' : 'set', xml(name, { xmlns: NS_GRID, node: T }, xml('set', { xmlns: RSM }, after ? xml('after', {}, after) : null))), 30_000);
    slowestMs = Math.max(slowestMs, performance.now() - t0);
    const list = r.getChild(name, NS_GRID)!;
    largest = Math.max(largest, Buffer.byteLength(r.toString()));
    const entries = list.getChildren('subtopic');
    assert.ok(entries.length > 0, 'a page is never empty before the end');
    nodes.push(...entries.map((e) => e.attrs.node!));
    const set = list.getChild('set', RSM)!;
    count = Number(set.getChildText('count'));
    after = set.getChildText('last')!;
    pages++;
    assert.ok(pages <= 100, 'paging ends');
  }
  return { nodes, pages, count, slowestMs, largest };
}

before(async () => {
  // Room for the probe's filters and lists: caps raised, the stanza limit as shipped.
  grid = await startDevGrid({
    nodes: [{ name: 'sandbox', OU: 'lab' }, { name: 'soc1', OU: 'soc' }, { name: 'soc2', OU: 'soc' }],
    env: { GRID_LIMITS_FILTER_BYTES: '122000', GRID_LIMITS_SUBTOPICS_PER_TOPIC: '3000' },
  });
  pub = await grid.connect('sandbox');
  soc1 = await grid.connect('soc1');
  soc2 = await grid.connect('soc2');
  await register(pub, grid.pki.nodes.sandbox!, { deviceType: 'sandbox', groups: ['providers'] });
  await register(soc1, grid.pki.nodes.soc1!, {});
  await register(soc2, grid.pki.nodes.soc2!, {});
  watchLink();
});
after(async () => {
  for (const c of [pub, soc1, soc2]) await c?.close().catch(() => {});
  await grid?.stop();
});

test('five subscriptions with ~115 KB filters, then <subtopics/> and <publisher/>: answers page, the stream stays up', async () => {
  for (let i = 0; i < 5; i++) {
    const values = Array.from({ length: 115 }, (_, k) => `${i}-${k}-${'x'.repeat(990)}`);
    const r = await soc1.iq(subscribeStanza(soc1.jid, { location: values }), 30_000);
    assert.equal(r.getChild('pubsub', PS)?.getChild('subscription')?.attrs.subscription, 'subscribed');
  }
  const subs = await pageAll(soc1, 'subtopics');
  assert.equal(subs.nodes.length, 5);
  assert.ok(subs.pages >= 2, `${subs.pages} pages: five 115 KB forms never go in one answer`);
  assert.ok(subs.largest < SERVER_LIMIT, `largest answer ${subs.largest} bytes`);
  const pubs = await pageAll(pub, 'publisher');
  assert.deepEqual(pubs.nodes, subs.nodes);
  assert.equal(lost, 0, 'component link lost');
  assert.equal(grid.controller!.link.online, true);
});

test('a filter over the default cap of values is refused with invalid-options naming limits.filter_values', async () => {
  const values = Array.from({ length: 300 }, (_, k) => `v${k}`);
  const e = await refusal(soc2.iq(subscribeStanza(soc2.jid, { location: values })));
  assert.equal(e.condition, 'bad-request');
  assert.match(e.text ?? '', /limits\.filter_values/);
  assert.equal(lost, 0);
});

test('a stanza over limits.stanza_bytes is never written: dropped and counted, the link stays up', async () => {
  const link = grid.controller!.link;
  const before = link.oversized;
  await link.send(xml('message', { to: 'soc1@grid.test' }, xml('body', {}, 'x'.repeat(600_000))));
  assert.equal(link.oversized, before + 1);
  const ping = await soc1.iq(xml('iq', { type: 'get', to: CTL, id: id('ping') }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(ping.attrs.type, 'result');
  assert.equal(lost, 0);
});

test('2,000 subtopics from two accounts (persisted, across a restart): every page answers fast and fits', async () => {
  await grid.stopController();
  // Written with the controller's own store, as 2,000 subscribes would have left it.
  const store = await openControlStore<TopicsState>(join(grid.cfg.data, 'topics.json'), EMPTY_TOPICS);
  await store.update((s) => {
    for (let i = 0; i < 2000; i++) {
      const owner = i % 2 ? 'soc2@grid.test' : 'soc1@grid.test';
      const filter = canonicalise({ location: [`site-${i}`] });
      const sub: Subscription = { subid: `seeded-${i}`, topic: T, jid: `${owner}/r`, owner, filter, subtopic: subtopicNode(T, filterHash(filter)), createdAt: new Date().toISOString() };
      s.subscriptions[sub.subid] = sub;
    }
  });
  await store.close();
  await grid.startController();
  watchLink();
  const subs = await pageAll(soc1, 'subtopics');
  assert.equal(subs.count, 2005);
  assert.equal(new Set(subs.nodes).size, 2005, 'each subtopic exactly once');
  assert.ok(subs.largest < SERVER_LIMIT);
  assert.ok(subs.slowestMs < 5000, `slowest page ${subs.slowestMs.toFixed(0)} ms`);
  const pubs = await pageAll(pub, 'publisher');
  assert.equal(pubs.count, 2005);
  assert.ok(pubs.slowestMs < 5000, `slowest page ${pubs.slowestMs.toFixed(0)} ms`);
  console.log(`# 2,005 subtopics: ${subs.pages} pages, slowest ${subs.slowestMs.toFixed(0)} ms (<subtopics/>), ${pubs.slowestMs.toFixed(0)} ms (<publisher/>)`);
  assert.equal(lost, 0, 'component link lost');
});
