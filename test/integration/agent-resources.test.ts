// Two processes of one node (one certificate, e.g. two collectors of one SIEM), on the real
// server (issue 11): each `grid-node subscribe` binds its own resource and holds its own
// subscription, so stopping one never ends the other's feed, and a process that dies without
// unsubscribing does not double its sibling's feed (the server hands a notification for an
// offline full JID to the account's other resources: RFC 6121 §8.5.3.2.1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import { GridClient } from '../../src/agent/index.js';

const CLI = join(process.cwd(), 'dist/src/agent/cli/grid-node.js');
const TOPIC = 'threat-intel/indicators';
let grid: DevGrid;
const clients: GridClient[] = [];
const children: ChildProcessWithoutNullStreams[] = [];

before(async () => {
  grid = await startDevGrid({ nodes: [{ name: 'soc1', OU: 'soc' }, { name: 'sandbox1', OU: 'malware-lab' }] });
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const c of clients) await c.close().catch(() => undefined);
  await grid?.stop();
});

const service = () => `xmpps://127.0.0.1:${grid.prosody.ports.c2sTls}`;
async function client(name: string): Promise<GridClient> {
  const n = grid.pki.nodes[name]!;
  const c = await GridClient.connect({ service: service(), domain: 'grid.test', certFile: n.cert, keyFile: n.key, ca: readFileSync(grid.pki.ca.cert, 'utf8') });
  clients.push(c);
  return c;
}

interface Item { topic: string; id: string; seq: number; publisher: string | null; subid: string | null }
interface Collector { child: ChildProcessWithoutNullStreams; subid: string; items: Item[]; item(id: string): Promise<Item>; exited: Promise<number | null>; stderr(): string }

/** `grid-node subscribe` as soc1, without --resource: resolves once it says it subscribed. */
async function collector(): Promise<Collector> {
  const n = grid.pki.nodes.soc1!;
  const child = spawn(process.execPath, [CLI, 'subscribe', TOPIC, '--service', service(), '--domain', 'grid.test',
    '--cert', n.cert, '--key', n.key, '--ca', grid.pki.ca.cert], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  const items: Item[] = [];
  const waiters = new Map<string, (it: Item) => void>();
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  createInterface({ input: child.stdout }).on('line', (l) => {
    const it = JSON.parse(l) as Item;
    items.push(it);
    waiters.get(it.id)?.(it);
  });
  const subscribed = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (l) => {
      stderr += l + '\n';
      const m = /subscribed to \S+ as \S+ \(subid ([^,)]+)/.exec(l);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`grid-node exited (${code}) before subscribing: ${stderr}`)));
  });
  const item = (id: string) => new Promise<Item>((resolve, reject) => {
    const had = items.find((x) => x.id === id);
    if (had) return resolve(had);
    waiters.set(id, resolve);
    void exited.then((code) => reject(new Error(`grid-node exited (${code}) before item ${id}: ${stderr}`)));
  });
  return { child, subid: await subscribed, items, item, exited, stderr: () => stderr };
}

const T = '2024-05-01T00:00:00.000Z';
function indicator(k: number): Record<string, unknown> {
  return { type: 'indicator', spec_version: '2.1', id: `indicator--00000000-0000-4000-8000-${String(k).padStart(12, '0')}`, created: T, modified: T,
    pattern: `[ipv4-addr:value = '198.51.100.${k}']`, pattern_type: 'stix', valid_from: T };
}

test('two collectors of one node: each its own resource and subscription; one stopping or dying leaves the other\'s feed whole', { timeout: 120_000 }, async () => {
  const soc = await client('soc1');
  if ((await soc.register()).status !== 'approved') assert.equal((await soc.waitForApproval(20_000)).status, 'approved');
  await soc.close();
  const pub = await client('sandbox1');
  assert.equal((await pub.register({ groups: ['providers'], deviceType: 'sandbox' })).status, 'approved');

  const a = await collector();
  const b = await collector();
  assert.notEqual(a.subid, b.subid, 'two subscriptions, not one shared');
  const subs = grid.controller!.topics.subscriptionsOfOwner('soc1@grid.test', TOPIC);
  assert.equal(subs.length, 2);
  const jids = subs.map((s) => s.jid);
  assert.ok(jids.every((j) => /^soc1@grid\.test\/grid-node-[0-9a-f]{8}$/.test(j)) && jids[0] !== jids[1], `full JIDs, one per process: ${jids.join(', ')}`);

  await pub.publish(TOPIC, indicator(1), { id: 'r-1' });
  await pub.publish(TOPIC, indicator(2), { id: 'r-2' });
  const [a2, b2] = await Promise.all([a.item('r-2'), b.item('r-2')]);
  assert.equal(a2.seq, b2.seq);
  assert.deepEqual([a2.subid, b2.subid], [a.subid, b.subid], 'each line names its own subscription');
  assert.equal(a2.publisher, 'sandbox1@grid.test');

  // A stops (SIGTERM: it unsubscribes its own subscription and exits 0).
  a.child.kill('SIGTERM');
  assert.equal(await a.exited, 0, a.stderr());
  assert.deepEqual(grid.controller!.topics.subscriptionsOfOwner('soc1@grid.test', TOPIC).map((s) => s.subid), [b.subid], 'B\'s subscription stays');
  await pub.publish(TOPIC, indicator(3), { id: 'r-3' });
  await pub.publish(TOPIC, indicator(4), { id: 'r-4' });
  const [b3, b4] = [await b.item('r-3'), await b.item('r-4')];
  assert.deepEqual([b3.seq, b4.seq], [b2.seq + 1, b2.seq + 2], 'B keeps receiving seq N+1, N+2');

  // C joins; B dies without unsubscribing (kill -9). B's subscription is temporary (XEP-0060
  // §12.4): the server tells the controller B's session ended, and the controller ends it.
  const c = await collector();
  const expired = once(grid.controller!.topics, 'expired') as Promise<[{ subid: string; jid: string }[]]>;
  b.child.kill('SIGKILL');
  await b.exited;
  const [ended] = await expired;
  assert.deepEqual(ended.map((s) => s.subid), [b.subid]);
  assert.deepEqual(grid.controller!.topics.subscriptionsOfOwner('soc1@grid.test', TOPIC).map((s) => s.subid), [c.subid], 'only C\'s subscription is left');
  for (let k = 5; k <= 7; k++) await pub.publish(TOPIC, indicator(k), { id: `r-${k}` });
  const c7 = await c.item('r-7');
  assert.equal(c7.seq, b4.seq + 3);
  // A marker published last: everything before it has reached C by the time it has.
  await pub.publish(TOPIC, indicator(8), { id: 'r-8' });
  await c.item('r-8');
  assert.deepEqual(c.items.map((x) => x.id), ['r-5', 'r-6', 'r-7', 'r-8'], 'no item twice, none of B\'s');
  assert.ok(c.items.every((x) => x.subid === c.subid));
  c.child.kill('SIGTERM');
  assert.equal(await c.exited, 0, c.stderr());
});
