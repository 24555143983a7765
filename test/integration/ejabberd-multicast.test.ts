// XEP-0033 fan-out on a real ejabberd 23.01 (mod_multicast at multicast.grid.test, found in
// the domain's disco#items per XEP-0033 §2.2): with ejabberd's default limit (20 addresses
// for a component, not advertised) and with `limits: remote: message: 1000` (advertised in
// disco#info), every subscriber gets each notification exactly once, in the unicast form.
// ejabberd only (server-profile.ts ONLY_ON); Prosody's module is tested by multicast.test.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { CTL, id, isAccountMessage, register } from '../helpers/grid-client.js';

const PS = 'http://jabber.org/protocol/pubsub';
const EV = 'http://jabber.org/protocol/pubsub#event';
const ADDR = 'http://jabber.org/protocol/address';
const T = 'threat-intel/indicators';

const bundle = (n: number) => ({
  type: 'bundle', id: `bundle--7a1d7c6e-3b65-4a2c-9a43-${String(n).padStart(12, '0')}`,
  objects: [{
    type: 'indicator', spec_version: '2.1', id: `indicator--7b1e8f4c-3c2a-4d7e-9f10-${String(n).padStart(12, '0')}`,
    created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', name: `ejabberd multicast ${n}`,
    pattern: `[domain-name:value = 'c2-${n}.example']`, pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z',
  }],
});
const iq = (child: Element) => xml('iq', { type: 'set', to: CTL, id: id('e') }, child);
const itemIdOf = (s: Element) => s.name === 'message' ? s.getChild('event', EV)?.getChild('items')?.getChild('item')?.attrs.id as string | undefined : undefined;

interface Grid { grid: DevGrid; sandbox: NodeConnection; socs: NodeConnection[]; seen: Map<string, number>[] }
const grids: Grid[] = [];
after(async () => {
  for (const g of grids) {
    await Promise.all([g.sandbox, ...g.socs].map((c) => c.close().catch(() => {})));
    await g.grid.stop();
  }
});

/** In batches: a few hundred TLS logins at once would only queue up on a loaded machine. */
async function inBatches<T>(n: number, size: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += size) out.push(...await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => fn(i + j))));
  return out;
}

/**
 * `accounts` approved SOC accounts with `sessions` connections each; every connection
 * subscribes with its own full JID, so there are accounts × sessions recipients (certificates
 * are slow to issue; connections are not).
 */
async function gridWith(accounts: number, sessions: number, multicastRemoteLimit?: number): Promise<Grid> {
  const names = Array.from({ length: accounts }, (_, i) => `soc${i}`);
  const grid = await startDevGrid({
    server: 'ejabberd', ...(multicastRemoteLimit ? { multicastRemoteLimit } : {}),
    nodes: [{ name: 'sandbox', OU: 'malware-lab', keyType: 'ec' }, ...names.map((name) => ({ name, OU: 'soc', keyType: 'ec' as const }))],
  });
  const sandbox = await grid.connect('sandbox');
  const g: Grid = { grid, sandbox, socs: [], seen: [] };
  grids.push(g);
  await register(sandbox, grid.pki.nodes.sandbox!, { deviceType: 'sandbox', groups: ['providers'] });
  await inBatches(accounts, 25, async (i) => {
    const c = await grid.connect(names[i]!);
    g.socs.push(c);
    const approved = c.waitFor(isAccountMessage('approved'));
    await register(c, grid.pki.nodes[names[i]!]!, { deviceType: 'siem' });
    await approved;
  });
  g.socs.push(...await inBatches(accounts * (sessions - 1), 25, (i) => grid.connect(names[i % accounts]!)));
  await inBatches(g.socs.length, 50, async (i) => {
    const c = g.socs[i]!;
    const r = await c.iq(iq(xml('pubsub', { xmlns: PS }, xml('subscribe', { node: T, jid: c.jid }))));
    assert.equal(r.getChild('pubsub', PS)?.getChild('subscription')?.attrs.subscription, 'subscribed');
  });
  // Every notification each subscriber receives, by item id.
  g.seen = g.socs.map((c) => {
    const seen = new Map<string, number>();
    c.on('stanza', (s) => {
      const item = itemIdOf(s);
      if (item) seen.set(item, (seen.get(item) ?? 0) + 1);
    });
    return seen;
  });
  return g;
}

/** Publishes `itemId`, then a marker item; once every subscriber has the marker, counts `itemId` per subscriber. */
async function publishCounted(g: Grid, itemId: string, n: number): Promise<{ counts: number[]; sample: Element }> {
  const sample = g.socs[0]!.waitFor((s) => itemIdOf(s) === itemId, 60_000);
  const marker = `${itemId}-marker`;
  const markers = g.socs.map((c) => c.waitFor((s) => itemIdOf(s) === marker, 60_000));
  const publish = (item: string, k: number) => g.sandbox.iq(iq(xml('pubsub', { xmlns: PS }, xml('publish', { node: T },
    xml('item', { id: item }, xml('json', { xmlns: 'urn:xmpp:json:0' }, JSON.stringify(bundle(k))))))));
  await publish(itemId, n);
  await publish(marker, n + 1);
  // A copy of the first item reaches a node before the marker (one sender, one stream, in order).
  await Promise.all(markers);
  return { counts: g.seen.map((s) => s.get(itemId) ?? 0), sample: await sample };
}

test('ejabberd default limit (20, not advertised): 30 subscribers, two multicasts, each subscriber exactly once', async () => {
  const g = await gridWith(30, 1);
  const mc = g.grid.controller!.multicast;
  assert.equal(await mc.whenKnown('grid.test'), true, 'found through disco#items of the domain');
  assert.deepEqual(mc.serviceOf('grid.test'), { jid: g.grid.profile.multicastJid('grid.test'), limit: 20, advertised: false });
  const before = mc.messages;
  const { counts, sample } = await publishCounted(g, 'ej-1', 1);
  assert.deepEqual(counts, g.socs.map(() => 1), 'exactly once per subscriber');
  assert.equal(mc.messages - before, 4, '20 + 10 addresses for each of the two items');
  assert.equal(mc.fallbacks + mc.retried, 0, 'nothing refused');
  assert.equal(sample.attrs.from, CTL);
  assert.equal(sample.attrs.to, g.socs[0]!.jid, 'each copy is addressed to its subscriber');
  assert.equal(sample.getChild('addresses', ADDR), undefined, 'bcc addresses never reach a recipient');
  assert.equal(sample.getChildElements().at(-1)?.name, 'headers', 'SHIM headers stay the last child (PROTOCOL §5)');
});

test('limits: remote: message: 1000 (advertised): 520 subscribed sessions, lists of 500, each exactly once', async () => {
  const g = await gridWith(13, 40, 1000);
  const mc = g.grid.controller!.multicast;
  await mc.whenKnown('grid.test');
  assert.deepEqual(mc.serviceOf('grid.test'), { jid: 'multicast.grid.test', limit: 500, advertised: true }, 'the controller\'s own cap of 500 under ejabberd\'s 1000');
  const before = mc.messages;
  const { counts } = await publishCounted(g, 'ej-2', 2);
  assert.equal(counts.length, 520);
  assert.deepEqual(counts.filter((c) => c !== 1), [], 'exactly once per subscriber');
  assert.equal(mc.messages - before, 4, '500 + 20 addresses for each of the two items');
  assert.equal(mc.fallbacks + mc.retried, 0);
});
