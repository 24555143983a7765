// A cluster of two controllers (docs/protocol.md §14) on a real ejabberd 23.01 (domain_balancing
// bare_source, component_number 2) and a real PostgreSQL: any instance answers any stanza —
// a challenge issued by one is accepted by the other, a subscription made on one is delivered
// to by the other exactly once, a query on either sees what both stored, seqs have no gap and
// no repeat, an approval or a revocation on one instance's admin socket is acted on by the
// other at once, subtopic changes reach publishers once, and `status` lists both instances.
// ejabberd only (server-profile.ts ONLY_ON): Prosody accepts one connection per component.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { describeCertificate } from '../../src/identity/certinfo.js';
import type { SweepDone } from '../../src/accounts/revocation-sweep.js';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import pg from 'pg';
import type { NodeConnection } from '../../src/agent/types.js';
import { adminRequest } from '../../src/admin/client.js';
import { signChallenge } from '../../src/identity/pop.js';
import { CTL, id, isAccountMessage, register, submitStanza, refusal, NS_GRID } from '../helpers/grid-client.js';
import { startCluster, publish, subscribe, itemIdOf, queryAfter, iq, PS, T, type TestCluster } from '../helpers/cluster.js';
import { renderStatus } from '../../src/cli/status.js';

const PUBS = Array.from({ length: 6 }, (_, i) => `pub${i}`);
const SOCS = Array.from({ length: 6 }, (_, i) => `soc${i}`);
let c: TestCluster;
let db: pg.Pool;
const conn: Record<string, NodeConnection> = {};
/** Nodes by the instance their stanzas reach. */
const on: { pub: string[]; soc: string[] }[] = [{ pub: [], soc: [] }, { pub: [], soc: [] }];

before(async () => {
  c = await startCluster([
    ...PUBS.map((name) => ({ name, OU: 'malware-lab', keyType: 'ec' as const })),
    ...SOCS.map((name) => ({ name, OU: 'soc', keyType: 'ec' as const })),
    { name: 'partner1', OU: 'partners', keyType: 'ec' as const },
    { name: 'crl1', OU: 'soc', keyType: 'ec' as const },
    { name: 'pol1', OU: 'soc', keyType: 'ec' as const },
  ], 2, { crl: true });
  db = new pg.Pool({ connectionString: c.pg.url, max: 2 });
  await Promise.all([...PUBS, ...SOCS, 'partner1', 'crl1', 'pol1'].map(async (name) => {
    conn[name] = await c.grid.connect(name);
  }));
  // Every node registers with its own instance (the challenge comes from where the submit goes).
  await Promise.all(PUBS.map((p) => register(conn[p]!, c.grid.pki.nodes[p]!, { deviceType: 'sandbox', groups: ['providers'] })));
  await Promise.all(SOCS.slice(1).map((s) => register(conn[s]!, c.grid.pki.nodes[s]!, { deviceType: 'siem' })));
  for (const name of [...PUBS, ...SOCS.slice(1)]) {
    const i = c.routeOf(conn[name]!);
    assert.ok(i >= 0, `${name} was heard by an instance`);
    on[i]![name.startsWith('pub') ? 'pub' : 'soc'].push(name);
  }
  // The names split over both connections (bare_source hashes the JID: the split is fixed).
  for (const i of [0, 1]) assert.ok(on[i]!.pub.length && on[i]!.soc.length, `instance ${i} serves a publisher and a subscriber: ${JSON.stringify(on)}`);
});

after(async () => {
  await Promise.all(Object.values(conn).map((x) => x.close().catch(() => undefined)));
  await db?.end();
  await c?.stop();
});

const other = (i: number) => 1 - i;

test('a challenge issued by one instance is accepted by the other, and only once', async () => {
  // soc0 has not been heard yet: its first stanza decides its instance. Ask it something.
  const s = conn.soc0!;
  await refusal(s.iq(iq('get', xml('pubsub', { xmlns: PS }, xml('subscriptions')))));
  const mine = c.routeOf(s);
  assert.ok(mine >= 0);
  const issuer = c.ctl[other(mine)]!;
  const challenge = await issuer.accounts.challengeStored('soc0@grid.test');
  const files = c.grid.pki.nodes.soc0!;
  const submit = () => s.iq(submitStanza({ challenge, certPem: readFileSync(files.cert, 'utf8'), signature: signChallenge(readFileSync(files.key, 'utf8'), challenge), deviceType: 'siem' }));
  const approved = s.waitFor(isAccountMessage('approved'));
  await submit();
  await approved;
  assert.equal(c.ctl[mine]!.accounts.get('soc0@grid.test')?.status, 'approved');
  // Used up wherever it was used: neither instance takes it again.
  const again = await refusal(submit());
  assert.match(again.text ?? '', /challenge unknown/);
  const r = await issuer.accounts.register('soc0@grid.test', { challenge, certificatePem: 'x', signature: 'y', groups: [] });
  assert.equal((r as { fail?: string }).fail, 'challenge-invalid');
  on[mine]!.soc.push('soc0');
});

test('a subscription made on one instance is delivered to by the other, exactly once; a query anywhere sees it', async () => {
  for (const i of [0, 1]) {
    const sub = conn[on[i]!.soc[0]!]!;
    const pub = conn[on[other(i)]!.pub[0]!]!;
    await subscribe(sub);
    const seen = new Map<string, number>();
    sub.on('stanza', (st: Element) => {
      const it = itemIdOf(st);
      if (it) seen.set(it, (seen.get(it) ?? 0) + 1);
    });
    const first = `x${i}-1`;
    const marker = `x${i}-2`;
    const got = sub.waitFor((st) => itemIdOf(st) === marker);
    // Published at once after the subscribe was acknowledged, through the other instance.
    await publish(pub, first, 100 + i * 10);
    await publish(pub, marker, 101 + i * 10);
    await got;
    assert.equal(seen.get(first), 1, `instance ${other(i)} delivered ${first} once to a subscriber of instance ${i}`);
    // A query through either instance sees both items.
    for (const q of [sub, conn[on[other(i)]!.soc[0]!]!]) {
      const ids = (await queryAfter(q, 0)).map(([id]) => id);
      assert.ok(ids.includes(first) && ids.includes(marker), `query via ${q.jid}: ${ids.join(',')}`);
    }
  }
});

test('per-topic seqs allocated in PostgreSQL: two instances publishing at once leave no gap and no repeat', async () => {
  const before = Number((await db.query<{ high_seq: string }>('SELECT high_seq FROM item_topics WHERE topic = $1', [T])).rows[0]?.high_seq ?? 0);
  const N = 40;
  const pubs = [conn[on[0]!.pub[0]!]!, conn[on[1]!.pub[0]!]!];
  await Promise.all(pubs.map((p, k) => Promise.all(Array.from({ length: N }, (_, j) => publish(p, `seq-${k}-${j}`, 1000 + k * N + j)))));
  const rows = (await db.query<{ seq: string; id: string }>('SELECT seq, id FROM items WHERE topic = $1 AND seq > $2 ORDER BY seq', [T, before])).rows;
  assert.deepEqual(rows.map((r) => Number(r.seq)), Array.from({ length: 2 * N }, (_, j) => before + 1 + j), 'seqs before+1 … before+2N');
  assert.equal(new Set(rows.map((r) => r.id)).size, 2 * N);
  // Both instances' views agree with the database (after_seq from either).
  const views = await Promise.all([conn[on[0]!.soc[0]!]!, conn[on[1]!.soc[0]!]!].map((q) => queryAfter(q, before)));
  for (const v of views) assert.deepEqual(v.map(([, s]) => s), rows.map((r) => Number(r.seq)));
});

test('approve and revoke on one instance\'s admin socket: the other acts at once', async () => {
  const p = conn.partner1!;
  await register(p, c.grid.pki.nodes.partner1!, { deviceType: 'siem', groups: ['partners'] });
  const mine = c.routeOf(p);
  const admin = c.cfg[other(mine)]!.admin.socket;
  assert.equal(c.ctl[mine]!.accounts.get('partner1@grid.test')?.status, 'pending');
  const approved = p.waitFor(isAccountMessage('approved'));
  const r = await adminRequest(admin, 'accounts.approve', { jid: 'partner1@grid.test', groups: ['partners'], operator: 'test' });
  assert.ok(r.ok, JSON.stringify(r));
  await approved;
  // Its own instance lets it subscribe at once (partners may subscribe to threat-intel).
  await subscribe(p);
  assert.equal(c.ctl[mine]!.topics.subscriptionsOfOwner('partner1@grid.test').length, 1);
  const revoked = p.waitFor(isAccountMessage('revoked'));
  const ended = p.waitFor((st) => st.getChild('event', `${PS}#event`)?.getChild('subscription')?.attrs.subscription === 'none');
  const rv = await adminRequest(admin, 'accounts.revoke', { jid: 'partner1@grid.test', operator: 'test' });
  assert.ok(rv.ok);
  await revoked;
  // The revoking instance ends the subscription (XEP-0060 §8.8.4: subscription='none').
  await ended;
  // The revoking instance ended the subscription; the node's own instance refuses it now.
  const e = await refusal(subscribe(p));
  assert.equal(e.condition, 'forbidden');
  assert.match(e.text ?? '', /revoked/);
  // A query through the node's instance syncs it with the feed; its index has followed.
  await queryAfter(conn[on[mine]!.soc[0]!]!, 0);
  assert.equal(c.ctl[mine]!.topics.subscriptionsOfOwner('partner1@grid.test').length, 0, 'the other instance\'s index follows');
});

test('a new subtopic made on one instance reaches a publisher on the other exactly once', async () => {
  const i = 0;
  const sub = conn[on[i]!.soc[1] ?? on[i]!.soc[0]!]!;
  const pub = conn[on[other(i)]!.pub[1] ?? on[other(i)]!.pub[0]!]!;
  const reg = await pub.iq(iq('set', xml('publisher', { xmlns: NS_GRID, node: T })));
  assert.equal(reg.attrs.type, 'result');
  const msgs: Element[] = [];
  pub.on('stanza', (st: Element) => {
    if (st.name === 'message' && st.getChild('subtopic', NS_GRID)) msgs.push(st);
  });
  const told = pub.waitFor((st) => st.name === 'message' && st.getChild('subtopic', NS_GRID)?.attrs.action === 'created');
  const r = await sub.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('subscribe', { node: T, jid: sub.jid }),
    xml('options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/pubsub#subscribe_options')),
      xml('field', { var: '{urn:xmpp-grid:0}filter.location' }, xml('value', {}, 'emea')))))));
  assert.equal(r.attrs.type, 'result');
  await told;
  // A round trip to the publisher's own instance after the message: nothing else came.
  await pub.iq(iq('get', xml('pubsub', { xmlns: PS }, xml('subscriptions'))));
  assert.equal(msgs.length, 1, 'told once, by the instance that made the subtopic');
  assert.equal(c.ctl[other(i)]!.topics.subtopics(T).length, 1, 'the other instance knows the subtopic');
});

test('status lists both instances: connection, policy digest, heartbeat and lag', async () => {
  type Cl = { instances: { id: string; xmpp: string; state: string; policy_digest: string; feed_lag_ms: number }[] };
  // The list is as of this instance's last heartbeat (every 2 s): asked again until both show up.
  let r = await adminRequest(c.cfg[0]!.admin.socket, 'status', {});
  for (const end = Date.now() + 10_000; Date.now() < end; r = await adminRequest(c.cfg[0]!.admin.socket, 'status', {})) {
    if (r.ok && (r.result as unknown as { cluster: Cl }).cluster.instances.filter((x) => x.xmpp === 'up').length === 2) break;
    await new Promise((res) => setTimeout(res, 200)); // a heartbeat period is the unit here
  }
  assert.ok(r.ok);
  const cl = (r.result as unknown as { cluster: Cl }).cluster;
  assert.equal(cl.instances.length, 2);
  for (const x of cl.instances) {
    assert.equal(x.xmpp, 'up', JSON.stringify(cl));
    assert.equal(x.state, 'up', JSON.stringify(cl));
    assert.equal(x.policy_digest, r.result.policy.digest);
    assert.equal(typeof x.feed_lag_ms, 'number');
  }
  const text = renderStatus(r.result).join('\n');
  assert.match(text, /cluster +2 instances/);
  assert.equal(text.split('\n').filter((l) => /xmpp up {2}store up/.test(l)).length, 2);
});

/** A message from instance i to the node, once it has arrived: whatever i sent the node before it has arrived too (one connection, in order). */
async function afterAllFrom(i: number, x: NodeConnection): Promise<void> {
  const mark = `barrier-${i}-${id('b')}`;
  const arrived = x.waitFor((s) => s.name === 'message' && s.attrs.id === mark);
  await c.ctl[i]!.outbox.send(xml('message', { from: CTL, to: x.jid, id: mark, type: 'normal' }, xml('body', {}, 'barrier')));
  await arrived;
}

test('a CRL both instances watch: the account is revoked by one of them, and announced once', { timeout: 60_000 }, async () => {
  const x = conn.crl1!;
  await register(x, c.grid.pki.nodes.crl1!, { deviceType: 'siem' });
  const told: Element[] = [];
  x.on('stanza', (s) => { if (isAccountMessage('revoked')(s)) told.push(s); });
  const swept = [0, 1].map((i) => once(c.ctl[i]!.revocation, 'swept') as Promise<[SweepDone]>);
  const revoked = x.waitFor(isAccountMessage('revoked'), 20_000);
  c.writeCrl!([describeCertificate(readFileSync(c.grid.pki.nodes.crl1!.cert, 'utf8')).serial]);
  const done = (await Promise.all(swept)).map(([d]) => d);
  await revoked;
  assert.deepEqual(done.map((d) => d.revoked).sort(), [0, 1], `one instance revokes, the other finds it done: ${JSON.stringify(done)}`);
  // Each instance's messages reach the node in the order it sent them: once a message each sends
  // after its sweep has arrived, no second announcement is still on its way.
  await Promise.all([0, 1].map((i) => afterAllFrom(i, x)));
  assert.equal(told.length, 1, 'the node is told of its revocation once');
  for (const i of [0, 1]) assert.equal(c.ctl[i]!.accounts.get('crl1@grid.test')?.status, 'revoked');
});

test('a policy reload both instances see: a subscription it no longer permits is ended by one of them, and announced once', { timeout: 60_000 }, async () => {
  const x = conn.pol1!;
  await register(x, c.grid.pki.nodes.pol1!, { deviceType: 'siem' });
  await subscribe(x);
  const ends: Element[] = [];
  x.on('stanza', (s) => { if (s.getChild('event', `${PS}#event`)?.getChild('subscription')?.attrs.subscription === 'none') ends.push(s); });
  // What each instance's whole-grid re-check ended (observed, not changed).
  const rechecked = [0, 1].map((i) => new Promise<number>((resolve) => {
    const t = c.ctl[i]!.topics;
    const recheck = t.recheck.bind(t);
    t.recheck = async (owner?: string) => {
      const n = await recheck(owner);
      if (owner === undefined) resolve(n);
      return n;
    };
  }));
  const file = join(c.cfg[0]!.policies, '15-deny-pol1.yaml');
  writeFileSync(file, 'rules:\n  - id: no-pol1\n    effect: deny\n    clients: ["pol1@grid.test"]\n    topics: ["threat-intel/**"]\n# end\n');
  const ended = await Promise.all(rechecked);
  assert.deepEqual([...ended].sort(), [0, 1], `one instance ends it, the other finds it ended: ${JSON.stringify(ended)}`);
  await Promise.all([0, 1].map((i) => afterAllFrom(i, x)));
  assert.equal(ends.length, 1, 'the node is told once that its subscription ended');
  for (const i of [0, 1]) assert.equal(c.ctl[i]!.topics.subscriptionsOfOwner('pol1@grid.test').length, 0);
});
