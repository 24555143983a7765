// Faults in a cluster of two controllers (docs/protocol.md §14) on a real ejabberd 23.01 and a
// real PostgreSQL, each instance its own `grid-controller start` process:
// - kill -9 of the instance serving a publisher in the middle of a replay: every acknowledged
//   item is stored once, every subscriber has every acknowledged item (live, or through an
//   after_seq query), the survivor keeps answering, and the killed instance rejoins on restart;
// - PostgreSQL killed and restarted: a publish meanwhile is refused with a clear error (never
//   acknowledged), the instances reconnect, nothing acknowledged is lost, changes flow again.
// ejabberd only (server-profile.ts ONLY_ON).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import pg from 'pg';
import type { NodeConnection } from '../../src/agent/types.js';
import { adminRequest } from '../../src/admin/client.js';
import { StanzaError } from '../../src/agent/connection.js';
import { isAccountMessage, register } from '../helpers/grid-client.js';
import xml from '@xmpp/xml';
import { startProcessCluster, publish, publishStanza, subscribe, itemIdOf, queryAfter, iq, PS, T } from '../helpers/cluster.js';

const PUBS = Array.from({ length: 6 }, (_, i) => `pub${i}`);
const SOCS = Array.from({ length: 4 }, (_, i) => `soc${i}`);
let c: Awaited<ReturnType<typeof startProcessCluster>>;
let db: pg.Pool;
const conn: Record<string, NodeConnection> = {};
/** Every notification each subscriber received, by item id. */
const live: Record<string, Map<string, number>> = {};
const acked = new Set<string>();

/** Publishes until acknowledged (a lost instance's requests time out or fail: the node tries again). */
async function publishAcked(p: NodeConnection, itemId: string, n: number): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      await p.iq(publishStanza(itemId, n), 2000);
      acked.add(itemId);
      return attempt;
    } catch (e) {
      if (attempt >= 20) throw e;
    }
  }
}

before(async () => {
  c = await startProcessCluster([
    ...PUBS.map((name) => ({ name, OU: 'malware-lab', keyType: 'ec' as const })),
    ...SOCS.map((name) => ({ name, OU: 'soc', keyType: 'ec' as const })),
  ]);
  db = new pg.Pool({ connectionString: c.pg.url, max: 2 });
  db.on('error', () => undefined); // the PostgreSQL restart test drops its idle connections
  await Promise.all([...PUBS, ...SOCS].map(async (name) => {
    conn[name] = await c.grid.connect(name);
  }));
  await Promise.all(PUBS.map((p) => register(conn[p]!, c.grid.pki.nodes[p]!, { deviceType: 'sandbox', groups: ['providers'] })));
  await Promise.all(SOCS.map(async (s) => {
    const ok = conn[s]!.waitFor(isAccountMessage('approved'));
    await register(conn[s]!, c.grid.pki.nodes[s]!, { deviceType: 'siem' });
    await ok;
  }));
  for (const s of SOCS) {
    await subscribe(conn[s]!);
    const seen = new Map<string, number>();
    live[s] = seen;
    conn[s]!.on('stanza', (st: Element) => {
      const it = itemIdOf(st);
      if (it) seen.set(it, (seen.get(it) ?? 0) + 1);
    });
  }
});

after(async () => {
  if (process.env.GRID_TEST_CLUSTER_LOG) {
    const { writeFileSync, readFileSync } = await import('node:fs');
    c?.procs.forEach((p, i) => p && writeFileSync(`${process.env.GRID_TEST_CLUSTER_LOG}.${i}`, p.lines.join('\n')));
    try {
      writeFileSync(`${process.env.GRID_TEST_CLUSTER_LOG}.ejabberd`, readFileSync(c.grid.server.logFile, 'utf8'));
    } catch { /* no log */ }
  }
  await Promise.all(Object.values(conn).map((x) => x.close().catch(() => undefined)));
  await db?.end();
  await c?.stop();
});

test('kill -9 of an instance mid-replay: nothing acknowledged is lost, the survivor answers, the killed one rejoins', async () => {
  // ejabberd without domain_balancing spreads stanzas over the live component connections: the
  // killed instance's connection goes, and with it its share of the traffic.
  const victim = 0;
  const pub = conn.pub0!;
  const N = 60;
  let retried = 0;
  let killedAt = 0;
  let answeredAfter = 0;
  // Four publishes in flight at a time; the kill lands while batch 20–23 is in flight.
  for (let k = 0; k < N; k += 4) {
    const batch = Promise.all([0, 1, 2, 3].map((j) => publishAcked(pub, `replay-${k + j}`, 5000 + k + j)));
    if (k === 20) {
      c.procs[victim]!.child.kill('SIGKILL');
      await c.procs[victim]!.exited;
      killedAt = Date.now();
    }
    retried += (await batch).filter((a) => a > 1).length;
    if (k === 20) answeredAfter = Date.now() - killedAt;
  }
  assert.equal(acked.size, N);
  // Stored once each.
  const rows = (await db.query<{ id: string; n: string }>("SELECT id, count(*) AS n FROM items WHERE topic = $1 AND id LIKE 'replay-%' GROUP BY id", [T])).rows;
  assert.equal(rows.length, N);
  assert.ok(rows.every((r) => r.n === '1'));
  // Every subscriber: live, or through after_seq (what an agent asks after a gap in Grid-Seq).
  for (const s of SOCS) {
    const stored = new Set((await queryAfter(conn[s]!, 0)).map(([id]) => id));
    const missing = [...acked].filter((id) => !live[s]!.has(id) && !stored.has(id));
    assert.deepEqual(missing, [], `${s} lacks nothing`);
    const lateLive = [...acked].filter((id) => Number(id.split('-')[1]) >= 24 && live[s]!.has(id)).length;
    assert.equal(lateLive, N - 24, `${s} got every item published after the kill live (the survivor delivers)`);
  }
  // The survivor answers every node (each asks something).
  await Promise.all(PUBS.map((p, i) => publish(conn[p]!, `after-kill-${i}`, 6000 + i)));
  // Restarted, the killed instance rejoins and takes a share of the traffic again.
  await c.start(victim);
  const st = await adminRequest(c.cfg[victim]!.admin.socket, 'status', {});
  assert.ok(st.ok);
  const inst = (st.result as unknown as { cluster: { instances: { state: string; xmpp: string }[] } }).cluster.instances;
  assert.equal(inst.length, 2, 'the dead instance\'s row is gone, the new one is listed');
  assert.ok(inst.every((x) => x.state === 'up' && x.xmpp === 'up'));
  for (let k = 0; k < 20; k++) await publish(pub, `rejoined-${k}`, 6100 + k);
  assert.ok(await heard(victim, 'pub0'), 'the restarted instance answers requests again');
  console.log(`# kill -9 mid-replay: first answer ${answeredAfter} ms after the kill; ${retried} publishes retried`);
});

/** Whether instance i's SeenBook heard `name` since it started. */
async function heard(i: number, name: string): Promise<boolean> {
  const r = await adminRequest(c.cfg[i]!.admin.socket, 'accounts.show', { jid: `${name}@grid.test` });
  return r.ok && !!(r.result as { seen?: { lastSeen: string | null } }).seen?.lastSeen;
}

test('PostgreSQL restart: a publish meanwhile is refused with a clear error, the instances reconnect, nothing acknowledged is lost', async () => {
  const pub = conn.pub0!;
  await publish(pub, 'before-outage', 7000);
  acked.add('before-outage');
  await c.pg.kill();
  const e = await publish(pub, 'during-outage', 7001).then(() => null, (x: unknown) => x);
  assert.ok(e instanceof StanzaError, `refused: ${String(e)}`);
  assert.equal(e.condition, 'internal-server-error');
  assert.match(e.text ?? '', /not stored/);
  // A change of state meanwhile is refused too, and must not be stored later with another
  // write (issue 13): soc3 stays subscribed.
  const unsubscribe = (who: NodeConnection) => who.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('unsubscribe', { node: T, jid: who.jid }))));
  const u = await unsubscribe(conn.soc3!).then(() => null, (x: unknown) => x);
  assert.ok(u instanceof StanzaError, `unsubscribe during the outage refused: ${String(u)}`);
  await c.pg.start();
  // The node tries again, as it would: acknowledged once PostgreSQL is back.
  await publishAcked(pub, 'during-outage', 7001);
  // Changes flow between the instances again (the feed reconnected): a subscription made on one
  // is delivered to from the other.
  const s = conn.soc0!;
  const got = s.waitFor((st) => itemIdOf(st) === 'after-outage', 20_000);
  const got3 = conn.soc3!.waitFor((st) => itemIdOf(st) === 'after-outage', 20_000);
  await publishAcked(conn.pub1!, 'after-outage', 7002);
  await got;
  await got3; // the refused unsubscribe was undone, not stored later
  // Both instances take changes again (ejabberd spreads these over both): subscribe and
  // unsubscribe four times, each answered.
  for (let i = 0; i < 4; i++) {
    await unsubscribe(conn.soc3!);
    await subscribe(conn.soc3!);
  }
  const ids = new Set((await db.query<{ id: string }>('SELECT id FROM items WHERE topic = $1', [T])).rows.map((r) => r.id));
  assert.deepEqual([...acked].filter((id) => !ids.has(id)), [], 'every acknowledged item is stored');
});
