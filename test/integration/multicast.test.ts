// XEP-0033 fan-out on a real Prosody with the project's mod_grid_multicast: identical
// notifications leave the controller as one message and every subscriber still gets exactly
// the unicast form (no <addresses/>, its own JID in `to`, SHIM headers last); a client cannot
// use the module; a server that advertises multicast but refuses the controller costs speed,
// not notifications; a server without the module gets one message per subscriber.
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
const SOCS = ['soc1', 'soc2', 'soc3'];

function indicatorBundle(n: number) {
  return {
    type: 'bundle', id: `bundle--6f1d7c6e-3b65-4a2c-9a43-${String(n).padStart(12, '0')}`,
    objects: [{
      type: 'indicator', spec_version: '2.1', id: `indicator--6b1e8f4c-3c2a-4d7e-9f10-${String(n).padStart(12, '0')}`,
      created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', name: `multicast test ${n}`,
      pattern: `[domain-name:value = 'c2-${n}.example']`, pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z',
    }],
  };
}

const iq = (type: 'get' | 'set', child: Element) => xml('iq', { type, to: CTL, id: id('m') }, child);
const publish = (c: NodeConnection, itemId: string, n: number) =>
  c.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('publish', { node: T }, xml('item', { id: itemId }, xml('json', { xmlns: 'urn:xmpp:json:0' }, JSON.stringify(indicatorBundle(n))))))));
const itemIdOf = (s: Element) => s.name === 'message' ? s.getChild('event', EV)?.getChild('items')?.getChild('item')?.attrs.id as string | undefined : undefined;

interface Grid { grid: DevGrid; nodes: Record<string, NodeConnection> }
const grids: Grid[] = [];

/** `bare`: nodes that subscribe with their bare JID (the server picks the resource), the others with their full JID. */
async function gridWith(opts: { multicast?: boolean; multicastSenders?: string[] }, bare: string[] = []): Promise<Grid> {
  const grid = await startDevGrid({ nodes: [{ name: 'sandbox', OU: 'malware-lab' }, ...SOCS.map((name) => ({ name, OU: 'soc' }))], ...opts });
  const g: Grid = { grid, nodes: {} };
  grids.push(g);
  for (const n of ['sandbox', ...SOCS]) g.nodes[n] = await grid.connect(n);
  await register(g.nodes.sandbox!, grid.pki.nodes.sandbox!, { deviceType: 'sandbox', groups: ['providers'] });
  for (const n of SOCS) {
    const approved = g.nodes[n]!.waitFor(isAccountMessage('approved'));
    await register(g.nodes[n]!, grid.pki.nodes[n]!, { deviceType: 'siem' });
    await approved;
    const jid = bare.includes(n) ? g.nodes[n]!.jid.split('/')[0]! : g.nodes[n]!.jid;
    const r = await g.nodes[n]!.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('subscribe', { node: T, jid }))));
    assert.equal(r.getChild('pubsub', PS)?.getChild('subscription')?.attrs.subscription, 'subscribed');
  }
  return g;
}

/** Publishes one item and returns the notification each subscriber received for it. */
async function publishAndCollect(g: Grid, itemId: string, n: number): Promise<Element[]> {
  const got = SOCS.map((s) => g.nodes[s]!.waitFor((st) => itemIdOf(st) === itemId));
  await publish(g.nodes.sandbox!, itemId, n);
  return Promise.all(got);
}

after(async () => {
  for (const g of grids) {
    for (const c of Object.values(g.nodes)) await c.close().catch(() => {});
    await g.grid.stop();
  }
});

test('with mod_grid_multicast, one message leaves the controller and each subscriber gets the unicast form', async () => {
  const g = await gridWith({});
  const ctl = g.grid.controller!;
  assert.equal(await ctl.multicast.whenKnown('grid.test'), true, 'the server advertises http://jabber.org/protocol/address');
  const before = { messages: ctl.multicast.messages, copies: ctl.multicast.copies };
  const msgs = await publishAndCollect(g, 'mc-1', 1);
  assert.equal(ctl.multicast.messages - before.messages, 1, 'one multicast message for three subscribers');
  assert.equal(ctl.multicast.copies - before.copies, 3);
  for (const [i, m] of msgs.entries()) {
    assert.equal(m.attrs.from, CTL);
    assert.equal(m.attrs.to, g.nodes[SOCS[i]!]!.jid, 'each copy is addressed to its subscriber');
    assert.equal(m.getChild('addresses', ADDR), undefined, 'bcc addresses never reach a recipient');
    const children = m.getChildElements();
    assert.equal(children.at(-1)?.name, 'headers', 'SHIM headers stay the last child (PROTOCOL §5)');
    assert.equal(m.getChild('event', EV)!.getChild('items')!.attrs.node, T);
    const json = JSON.parse(m.getChild('event', EV)!.getChild('items')!.getChild('item')!.getChildText('json', 'urn:xmpp:json:0')!) as { objects: { name: string }[] };
    assert.equal(json.objects[0]!.name, 'multicast test 1');
  }
});

const SHIM = 'http://jabber.org/protocol/shim';
const seqOf = (m: Element) => Number(m.getChild('headers', SHIM)?.getChildren('header').find((h) => h.attrs.name === 'Grid-Seq')?.getText());

test('copies written straight to the sessions: exactly once, in order, to full and bare JIDs; stored before the ack; an offline subscriber still bounces', async () => {
  const g = await gridWith({}, ['soc2']);
  const ctl = g.grid.controller!;
  assert.equal(await ctl.multicast.whenKnown('grid.test'), true);
  const N = 30;
  const got: Record<string, Element[]> = Object.fromEntries(SOCS.map((s) => [s, []]));
  const done = SOCS.map((s) => g.nodes[s]!.waitFor((st) => {
    if (itemIdOf(st)?.startsWith('ord-')) got[s]!.push(st);
    return itemIdOf(st) === 'ord-end';
  }));
  const before = ctl.multicast.copies;
  // All in flight at once: the controller stores and fans them out in its own order (Grid-Seq).
  await Promise.all(Array.from({ length: N }, (_, i) => publish(g.nodes.sandbox!, `ord-${i}`, 100 + i)));
  // Each ack came after its item was stored: all N are there for a query now.
  const items = await g.nodes.soc1!.iq(iq('get', xml('pubsub', { xmlns: PS }, xml('items', { node: T }))));
  const stored = new Set(items.getChild('pubsub', PS)!.getChild('items')!.getChildren('item').map((it) => it.attrs.id as string));
  for (let i = 0; i < N; i++) assert.ok(stored.has(`ord-${i}`), `ord-${i} acknowledged but not stored`);
  await publish(g.nodes.sandbox!, 'ord-end', 999);
  await Promise.all(done);
  assert.equal(ctl.multicast.copies - before, 3 * (N + 1), 'every notification left as a multicast');
  for (const s of SOCS) {
    const msgs = got[s]!;
    const ids = msgs.map((m) => itemIdOf(m)!);
    assert.equal(ids.length, N + 1, `${s}: each item exactly once`);
    assert.equal(new Set(ids).size, N + 1, `${s}: no duplicates`);
    const seqs = msgs.map(seqOf);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${s}: in Grid-Seq order`);
    const want = s === 'soc2' ? g.nodes[s]!.jid.split('/')[0] : g.nodes[s]!.jid;
    for (const m of msgs) {
      assert.equal(m.attrs.to, want, `${s}: addressed to the JID it subscribed with`);
      assert.equal(m.attrs.type, 'normal');
      assert.equal(m.attrs.from, CTL);
      assert.equal(m.getChild('addresses', ADDR), undefined);
      assert.equal(m.getChildElements().at(-1)?.name, 'headers');
    }
  }
  // soc2 (subscribed by bare JID) goes away: its copy takes the general route and bounces to
  // the controller, which counts it; soc1 and soc3 still get theirs.
  const bounced = ctl.outbox.bounced;
  await g.nodes.soc2!.close();
  delete g.nodes.soc2;
  const rest = Promise.all(['soc1', 'soc3'].map((s) => g.nodes[s]!.waitFor((st) => itemIdOf(st) === 'ord-offline')));
  await publish(g.nodes.sandbox!, 'ord-offline', 1000);
  assert.equal((await rest).length, 2);
  // The bounce was written to the component stream while the multicast was handled, so before
  // this IQ reaches the controller on the same stream.
  await g.nodes.sandbox!.iq(xml('iq', { type: 'get', to: CTL, id: id('d') }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.equal(ctl.outbox.bounced, bounced + 1, 'the copy to the offline node bounced');
});

test('a client cannot use the multicast module: forbidden, and nothing is delivered', async () => {
  const g = grids[0]!;
  const soc1 = g.nodes.soc1!;
  const sandbox = g.nodes.sandbox!;
  const attempt = xml('message', { to: 'grid.test', id: id('spoof') },
    xml('addresses', { xmlns: ADDR }, xml('address', { type: 'bcc', jid: soc1.jid })), xml('body', {}, 'spoofed fan-out'));
  const err = sandbox.waitFor((s) => s.name === 'message' && s.attrs.type === 'error' && s.attrs.id === attempt.attrs.id);
  // The marker follows the attempt on the same stream: if the attempt had been copied to soc1,
  // soc1 would see it first.
  const first = soc1.waitFor((s) => s.name === 'message' && !!s.getChild('body'));
  await sandbox.send(attempt);
  const e = await err;
  assert.equal(e.getChild('error')?.getChildElements()[0]?.name, 'forbidden');
  await sandbox.send(xml('message', { to: soc1.jid, type: 'chat', id: id('marker') }, xml('body', {}, 'marker')));
  assert.equal((await first).getChildText('body'), 'marker');
});

test('a server that advertises multicast but refuses the controller: every notification still arrives', async () => {
  const g = await gridWith({ multicastSenders: ['someone-else.grid.test'] });
  const ctl = g.grid.controller!;
  assert.equal(await ctl.multicast.whenKnown('grid.test'), true);
  const msgs = await publishAndCollect(g, 'mc-2', 2);
  assert.deepEqual(msgs.map((m) => m.attrs.to), SOCS.map((s) => g.nodes[s]!.jid));
  assert.equal(ctl.multicast.fallbacks, 3, 're-sent one by one after the refusal');
  assert.equal(ctl.multicast.offers('grid.test'), false, 'multicast is off for that host from now on');
  const more = await publishAndCollect(g, 'mc-3', 3);
  assert.equal(more.length, 3);
  assert.equal(ctl.multicast.fallbacks, 3, 'later items go one by one without a refusal');
});

test('a server without the module: one message per subscriber', async () => {
  const g = await gridWith({ multicast: false });
  const ctl = g.grid.controller!;
  assert.equal(await ctl.multicast.whenKnown('grid.test'), false);
  const msgs = await publishAndCollect(g, 'mc-4', 4);
  assert.deepEqual(msgs.map((m) => m.attrs.to), SOCS.map((s) => g.nodes[s]!.jid));
  assert.equal(ctl.multicast.messages, 0);
});
