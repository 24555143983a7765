// Topics end to end on a real Prosody, written like XEP-0060's examples (PROTOCOL §3–§7, §12):
// filtered subscriptions on the topic node, subtopics told to publishers, each subscriber
// receiving exactly its cut of an ATT&CK bundle, §4 denials, live policy edits.
import { ATTACK_ICS_FILE, readDataText } from '../../src/devgrid/data-files.js';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { CTL, NS_GRID, id, isAccountMessage, register, refusal } from '../helpers/grid-client.js';

const PS = 'http://jabber.org/protocol/pubsub';
const EV = 'http://jabber.org/protocol/pubsub#event';
const T = 'threat-intel/attack-patterns';
const ATTACK = JSON.parse(readDataText(ATTACK_ICS_FILE).replace(/^\uFEFF/, '')) as { objects: { type: string; id: string; object_marking_refs?: string[]; created_by_ref?: string }[] };

let grid: DevGrid;
const nodes: Record<string, NodeConnection> = {};

/** A bundle small enough for one stanza: attack-patterns, malware, and the identity/marking they reference. */
function sampleBundle(nAttack: number, nMalware: number) {
  const pick = (type: string, n: number) => ATTACK.objects.filter((o) => o.type === type).slice(0, n);
  const objs = [...pick('attack-pattern', nAttack), ...pick('malware', nMalware)];
  const refs = new Set(objs.flatMap((o) => [o.created_by_ref, ...(o.object_marking_refs ?? [])]).filter(Boolean));
  const support = ATTACK.objects.filter((o) => refs.has(o.id));
  return { type: 'bundle', id: 'bundle--6f1d7c6e-3b65-4a2c-9a43-1f6f7a8b9c0d', objects: [...support, ...objs] };
}

const iq = (type: 'get' | 'set', child: Element) => xml('iq', { type, to: CTL, id: id('q') }, child);
const field = (v: string, ...values: string[]) => xml('field', { var: v }, ...values.map((x) => xml('value', {}, x)));


function subscribeStanza(node: string, jid: string, filter?: Record<string, string[]>) {
  return iq('set', xml('pubsub', { xmlns: PS },
    xml('subscribe', { node, jid }),
    filter ? xml('options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      field('FORM_TYPE', 'http://jabber.org/protocol/pubsub#subscribe_options'),
      ...Object.entries(filter).map(([k, v]) => field(`{urn:xmpp-grid:0}filter.${k}`, ...v)))) : null));
}

function publishStanza(node: string, itemId: string, payload: unknown) {
  return iq('set', xml('pubsub', { xmlns: PS }, xml('publish', { node }, xml('item', { id: itemId }, xml('json', { xmlns: 'urn:xmpp:json:0' }, JSON.stringify(payload))))));
}

const isItemsEvent = (node: string) => (s: Element) => s.name === 'message' && !!s.getChild('event', EV)?.getChild('items')?.getChild('item') && s.getChild('event', EV)!.getChild('items')!.attrs.node === node;
const payloadOf = (m: Element) => JSON.parse(m.getChild('event', EV)!.getChild('items')!.getChild('item')!.getChild('json', 'urn:xmpp:json:0')!.getText()) as { objects: { type: string }[] };
const header = (m: Element, name: string) => m.getChildren('headers', 'http://jabber.org/protocol/shim').flatMap((h) => h.getChildren('header')).find((h) => h.attrs.name === name)?.getText();

before(async () => {
  grid = await startDevGrid({
    nodes: [
      { name: 'sandbox', OU: 'malware-lab' },
      { name: 'soc1', OU: 'soc' },
      { name: 'soc2', OU: 'soc' },
      { name: 'partner1', OU: 'partner' },
    ],
  });
  for (const n of ['sandbox', 'soc1', 'soc2', 'partner1']) nodes[n] = await grid.connect(n);
  await register(nodes.sandbox!, grid.pki.nodes.sandbox!, { deviceType: 'sandbox', groups: ['providers'] });
  for (const n of ['soc1', 'soc2']) {
    const approved = nodes[n]!.waitFor(isAccountMessage('approved'));
    await register(nodes[n]!, grid.pki.nodes[n]!, { deviceType: 'siem' });
    await approved;
  }
  await register(nodes.partner1!, grid.pki.nodes.partner1!, { groups: ['partners'] });
  await grid.controller!.accounts.approve('partner1@grid.test', 'test', ['partners']);
});

after(async () => {
  for (const c of Object.values(nodes)) await c.close().catch(() => {});
  await grid?.stop();
});

test('disco#items lists only the topics a node may discover; disco#info carries both forms', async () => {
  const items = (await nodes.partner1!.iq(iq('get', xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })))).getChild('query')!;
  const names = items.getChildren('item').map((i) => i.attrs.node).sort();
  assert.deepEqual(names, ['threat-intel/attack-patterns', 'threat-intel/indicators']);
  const info = (await nodes.soc1!.iq(iq('get', xml('query', { xmlns: 'http://jabber.org/protocol/disco#info', node: 'threat-intel/indicators' })))).getChild('query')!;
  assert.equal(info.getChild('identity')?.attrs.type, 'leaf');
  const forms = info.getChildren('x', 'jabber:x:data').map((x) => x.getChildren('field').find((f) => f.attrs.var === 'FORM_TYPE')?.getChildText('value'));
  assert.deepEqual(forms.sort(), ['http://jabber.org/protocol/pubsub#meta-data', 'urn:xmpp-grid:0#topic']);
});

test('§4 denials on the wire: item-not-found, closed-node, forbidden', async () => {
  let e = await refusal(nodes.partner1!.iq(subscribeStanza('incidents/iodef', 'partner1@grid.test')));
  assert.deepEqual([e.type, e.condition], ['cancel', 'item-not-found'], 'may not discover');
  e = await refusal(nodes.sandbox!.iq(subscribeStanza(T, 'sandbox@grid.test')));
  assert.deepEqual([e.type, e.condition, e.appCondition?.name], ['cancel', 'not-allowed', 'closed-node'], 'may discover, not subscribe');
  e = await refusal(nodes.soc1!.iq(publishStanza(T, 'x', sampleBundle(1, 0))));
  assert.deepEqual([e.type, e.condition], ['auth', 'forbidden']);
});

test('publish → notify: two subscribers on different filters each receive exactly their cut', async () => {
  const pub = nodes.sandbox!;
  const created = pub.waitFor((s) => s.getChild('subtopic', NS_GRID)?.attrs.action === 'created');
  const reg = await pub.iq(iq('set', xml('publisher', { xmlns: NS_GRID, node: T })));
  assert.ok(reg.getChild('publisher', NS_GRID));

  const s1 = await nodes.soc1!.iq(subscribeStanza(T, nodes.soc1!.jid, { type: ['attack-pattern'] }));
  const sub1 = s1.getChild('pubsub', PS)!;
  assert.equal(sub1.getChild('subscription')?.attrs.subscription, 'subscribed');
  const subtopic = sub1.getChild('options')?.getChild('x', 'jabber:x:data')?.getChildren('field').find((f) => f.attrs.var === '{urn:xmpp-grid:0}subtopic')?.getChildText('value');
  assert.match(subtopic ?? '', /^threat-intel\/attack-patterns~[0-9a-f]{16}$/);
  const told = await created;
  assert.equal(told.getChild('subtopic', NS_GRID)?.attrs.node, subtopic);
  await nodes.soc2!.iq(subscribeStanza(T, nodes.soc2!.jid, { type: ['malware'] }));

  const got1 = nodes.soc1!.waitFor(isItemsEvent(T));
  const got2 = nodes.soc2!.waitFor(isItemsEvent(T));
  const bundle = sampleBundle(12, 5);
  const r = await pub.iq(publishStanza(T, 'ics-1', bundle));
  assert.equal(r.attrs.type, 'result');
  const [m1, m2] = await Promise.all([got1, got2]);
  const types1 = new Set(payloadOf(m1).objects.map((o) => o.type));
  const types2 = new Set(payloadOf(m2).objects.map((o) => o.type));
  assert.equal(payloadOf(m1).objects.filter((o) => o.type === 'attack-pattern').length, 12);
  assert.ok(!types1.has('malware'), 'soc1 never sees malware');
  assert.equal(payloadOf(m2).objects.filter((o) => o.type === 'malware').length, 5);
  assert.ok(!types2.has('attack-pattern'), 'soc2 never sees attack-patterns');
  // ejabberd leaves out type='normal', the default (RFC 6121 §5.2.2); Prosody keeps it.
  assert.equal(m1.attrs.type ?? 'normal', 'normal', 'offline-deliverable (RFC 8600 §6)');
  assert.equal(m1.children.at(-1) && (m1.children.at(-1) as Element).name, 'headers', 'headers are the last child');
  assert.equal(header(m1, 'Grid-Seq'), '1');
  assert.ok(header(m1, 'Grid-Published'));
  assert.equal(header(m1, 'SubID'), undefined, 'one subscription: no SubID');
});

test('filtered query with after_seq and RSM over stored items', async () => {
  const pub = nodes.sandbox!;
  await pub.iq(publishStanza(T, 'ics-2', sampleBundle(3, 0)));
  await pub.iq(publishStanza(T, 'ics-3', sampleBundle(0, 2)));
  const q = await nodes.soc1!.iq(iq('get', xml('query', { xmlns: NS_GRID, node: T },
    xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, field('FORM_TYPE', 'urn:xmpp-grid:0#query'), field('filter.type', 'malware'), field('after_seq', '1')),
    xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('max', {}, '10')))));
  const res = q.getChild('query', NS_GRID)!;
  assert.deepEqual(res.getChildren('item').map((i) => i.attrs.id), ['ics-3'], 'ics-2 holds no malware: left out');
  assert.equal(res.getChild('set', 'http://jabber.org/protocol/rsm')?.getChildText('count'), '1');
  assert.equal(res.getChildren('item')[0]!.attrs.seq, '3');
});

test('removing the rule from the policy file ends the subscription live (subscription=none)', async () => {
  const partner = nodes.partner1!;
  const r = await partner.iq(subscribeStanza('threat-intel/indicators', partner.jid));
  assert.equal(r.getChild('pubsub', PS)?.getChild('subscription')?.attrs.subscription, 'subscribed');
  const ended = partner.waitFor((s) => s.getChild('event', EV)?.getChild('subscription')?.attrs.subscription === 'none');
  const file = join(grid.policiesDir, '20-rules.yaml');
  const text = readFileSync(file, 'utf8');
  const without = text.replace(/  - id: partners-consume[\s\S]*?(?=\n  - id: |\s*$)/, '');
  assert.notEqual(without, text, 'the test found the rule to remove');
  writeFileSync(`${file}.tmp`, without);
  renameSync(`${file}.tmp`, file); // how an administrator's tool should write: atomically
  const m = await ended;
  assert.equal(m.getChild('event', EV)!.getChild('subscription')!.attrs.node, 'threat-intel/indicators');
  const e = await refusal(partner.iq(subscribeStanza('threat-intel/indicators', partner.jid)));
  assert.equal(e.condition, 'item-not-found', 'without the rule the partner may not even discover it');
});

test('an invalid policy edit is rejected whole; the last good policy stays', async () => {
  const file = join(grid.policiesDir, '30-broken.yaml');
  writeFileSync(file, 'rules:\n  - id: oops\n    effect: permit\n    operations: [fly]\n');
  // Wait for the watcher's verdict through the controller's own event, not a timer.
  await new Promise<void>((resolve) => grid.controller!.policy.once('rejected', () => resolve()));
  const r = await nodes.soc1!.iq(subscribeStanza('threat-intel/indicators', nodes.soc1!.jid));
  assert.equal(r.attrs.type, 'result', 'soc still permitted by the last good policy');
  const fixed = new Promise<void>((resolve) => grid.controller!.policy.once('change', () => resolve()));
  unlinkSync(file);
  await fixed;
});

test('the per-topic sequence continues across a restart', async () => {
  await grid.stopController();
  await grid.startController();
  const got = nodes.soc1!.waitFor((s) => isItemsEvent(T)(s) && s.getChild('event', EV)!.getChild('items')!.getChild('item')!.attrs.id === 'ics-4');
  await nodes.sandbox!.iq(publishStanza(T, 'ics-4', sampleBundle(2, 0)));
  assert.equal(header(await got, 'Grid-Seq'), '4', 'seq 1–3 before the restart, no reuse');
});
