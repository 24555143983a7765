// Revocation reaches approved, connected nodes (PROTOCOL §2): a certificate that expires, a
// CRL replaced while the controller runs, and a restart with the CRL in place — on a real
// Prosody with real certificates and CRLs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import { createCrl, issueNodeCert } from '../../src/identity/issue.js';
import { describeCertificate } from '../../src/identity/certinfo.js';
import type { Pem } from '../../src/identity/types.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { CTL, NS_GRID, getRegistration, id, isAccountMessage, register, refusal } from '../helpers/grid-client.js';

const PS = 'http://jabber.org/protocol/pubsub';
const EV = 'http://jabber.org/protocol/pubsub#event';
const T = 'threat-intel/indicators';

let grid: DevGrid;
let ca: Pem;
let crlFile: string;
const conns: NodeConnection[] = [];
/** Every stanza each connection received, in order. */
const seen = new Map<NodeConnection, Element[]>();
/** Connections the first test makes and the second reuses (one session per node). */
const nodes: Record<string, NodeConnection> = {};

before(async () => {
  grid = await startDevGrid({
    controller: false,
    nodes: [
      { name: 'admin', OU: 'it' },
      { name: 'sandbox', OU: 'malware-lab' },
      { name: 'soc1', OU: 'soc' },
      { name: 'soc2', OU: 'soc' },
      { name: 'soc3', OU: 'soc' },
    ],
  });
  ca = { certPem: readFileSync(grid.pki.ca.cert, 'utf8'), keyPem: readFileSync(grid.pki.ca.key, 'utf8') };
  crlFile = join(grid.workDir, 'trust.crl');
  writeFileSync(crlFile, createCrl(ca, []));
  grid.cfg.trust.crl = [crlFile];
  await grid.startController();
});

after(async () => {
  for (const c of conns) await c.close().catch(() => {});
  await grid?.stop();
});

async function connect(name: string): Promise<NodeConnection> {
  const c = await grid.connect(name);
  conns.push(c);
  const list: Element[] = [];
  seen.set(c, list);
  c.on('stanza', (s) => list.push(s));
  return c;
}

async function approvedNode(name: string, extra: Parameters<typeof register>[2] = { deviceType: 'siem' }): Promise<NodeConnection> {
  const c = await connect(name);
  const approved = c.waitFor(isAccountMessage('approved'));
  await register(c, grid.pki.nodes[name]!, extra);
  await approved;
  return c;
}

const iq = (type: 'get' | 'set', child: Element) => xml('iq', { type, to: CTL, id: id('q') }, child);
const subscribe = (c: NodeConnection) => c.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('subscribe', { node: T, jid: c.jid }))));
const indicator = (n: number) => ({
  type: 'bundle', id: `bundle--00000000-0000-4000-8000-00000000000${n}`, objects: [{
    type: 'indicator', spec_version: '2.1', id: `indicator--00000000-0000-4000-8000-00000000000${n}`, created: '2026-01-01T00:00:00.000Z',
    modified: '2026-01-01T00:00:00.000Z', pattern: "[ipv4-addr:value = '10.0.0.1']", pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z',
  }],
});
const publish = (c: NodeConnection, itemId: string, n: number) =>
  c.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('publish', { node: T }, xml('item', { id: itemId }, xml('json', { xmlns: 'urn:xmpp:json:0' }, JSON.stringify(indicator(n))))))));
const isItem = (itemId: string) => (s: Element) => s.getChild('event', EV)?.getChild('items')?.getChild('item')?.attrs.id === itemId;
const isEnded = (s: Element) => s.getChild('event', EV)?.getChild('subscription')?.attrs.subscription === 'none';
const adminNote = (jid: string, by: string) => (s: Element) => s.name === 'message' && (s.getChildText('body') ?? '').includes(`${jid} is now revoked (${by})`);

/**
 * After a publish that `control` received: `victim` got no notification of it. The victim's
 * account is then removed, which sends it a message through the same ordered outbox after
 * the publish's notifications, so once that arrives anything of the publish would have too.
 */
async function assertNotReached(victim: NodeConnection, bare: string, itemId: string): Promise<void> {
  const removed = victim.waitFor(isAccountMessage('removed'));
  await grid.controller!.accounts.remove(bare, 'test');
  await removed;
  assert.equal(seen.get(victim)!.filter(isItem(itemId)).length, 0, `${bare} received ${itemId}`);
}

test('a certificate that expires while approved and subscribed: revoked at notAfter, subscription ended, no more notifications', async () => {
  const admin = (nodes.admin = await connect('admin'));
  const sandbox = (nodes.sandbox = await approvedNode('sandbox', { deviceType: 'sandbox', groups: ['providers'] }));
  const soc1 = (nodes.soc1 = await approvedNode('soc1'));
  await subscribe(soc1);
  // A certificate valid for a few seconds more: enough to log in, register and subscribe.
  const notAfter = new Date(Math.ceil(Date.now() / 1000) * 1000 + 6000);
  const brief = issueNodeCert(ca, { xmppAddr: 'brief@grid.test', O: 'Grid Dev', OU: 'soc', CN: 'brief', keyType: 'ec', notAfter });
  const files = { cert: join(grid.workDir, 'brief.crt'), key: join(grid.workDir, 'brief.key') };
  writeFileSync(files.cert, brief.certPem);
  writeFileSync(files.key, brief.keyPem);
  grid.pki.nodes.brief = files;
  const c = await connect('brief');
  const approved = c.waitFor(isAccountMessage('approved'));
  await register(c, files, { deviceType: 'siem' });
  await approved;
  const sub = await subscribe(c);
  assert.equal(sub.getChild('pubsub', PS)?.getChild('subscription')?.attrs.subscription, 'subscribed');
  assert.ok(Date.now() < notAfter.getTime(), 'the set-up finished before notAfter (machine too slow for this test?)');

  const revoked = c.waitFor(isAccountMessage('revoked'), 20_000);
  const ended = c.waitFor(isEnded, 20_000);
  const told = admin.waitFor(adminNote('brief@grid.test', 'system:expiry'), 20_000);
  await revoked;
  assert.ok(Date.now() >= notAfter.getTime(), 'not before notAfter');
  const end = (await ended).getChild('event', EV)!.getChild('subscription')!;
  assert.deepEqual([end.attrs.node, end.attrs.jid, end.attrs.subscription], [T, c.jid, 'none']);
  await told;
  const a = grid.controller!.accounts.get('brief@grid.test')!;
  assert.deepEqual([a.status, a.decidedBy], ['revoked', 'system:expiry']);

  const got = soc1.waitFor(isItem('after-expiry'));
  await publish(sandbox, 'after-expiry', 1);
  await got;
  await assertNotReached(c, 'brief@grid.test', 'after-expiry');
});

test('a CRL replaced while running revokes a connected, subscribed node; a restart keeps it revoked and applies the CRL at start', async () => {
  const { admin, sandbox, soc1 } = nodes as Required<typeof nodes>;
  assert.ok(admin && sandbox && soc1, 'the first test connected them');
  const soc2 = await approvedNode('soc2');
  await subscribe(soc2);
  await approvedNode('soc3');

  const revoked = soc2.waitFor(isAccountMessage('revoked'), 20_000);
  const ended = soc2.waitFor(isEnded, 20_000);
  const told = admin.waitFor(adminNote('soc2@grid.test', 'system:crl'), 20_000);
  // How a CRL should be installed: written aside, then renamed over the old one.
  const serial2 = describeCertificate(readFileSync(grid.pki.nodes.soc2!.cert, 'utf8')).serial;
  writeFileSync(`${crlFile}.tmp`, createCrl(ca, [serial2]));
  renameSync(`${crlFile}.tmp`, crlFile);
  await revoked;
  assert.equal((await ended).getChild('event', EV)!.getChild('subscription')!.attrs.node, T);
  await told;
  const e = await refusal(soc2.iq(iq('get', xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' }))));
  assert.deepEqual([e.condition, e.appCondition?.name], ['forbidden', 'account-revoked']);
  assert.equal(grid.controller!.accounts.get('soc2@grid.test')!.decidedBy, 'system:crl');
  assert.equal(grid.controller!.accounts.get('soc3@grid.test')!.status, 'approved', 'a certificate the CRL does not list stays');

  // While the controller is stopped, the CRL also lists soc3: applied at start.
  await grid.stopController();
  const serial3 = describeCertificate(readFileSync(grid.pki.nodes.soc3!.cert, 'utf8')).serial;
  writeFileSync(crlFile, createCrl(ca, [serial2, serial3]));
  await grid.startController();
  assert.equal(grid.controller!.accounts.get('soc2@grid.test')!.status, 'revoked');
  const a3 = grid.controller!.accounts.get('soc3@grid.test')!;
  assert.deepEqual([a3.status, a3.decidedBy], ['revoked', 'system:crl']);
  const q = await getRegistration(soc2);
  assert.equal(q.getChild('account', NS_GRID)?.attrs.status, 'revoked', 'the node reads its state with the registration get');
  // soc1 is still subscribed from the first test; soc2 no longer is.
  const got = soc1.waitFor(isItem('after-crl'));
  await publish(sandbox, 'after-crl', 2);
  await got;
  await assertNotReached(soc2, 'soc2@grid.test', 'after-crl');
});
