// Temporary subscriptions (XEP-0060 §12.4) across an outage of the controller (issue 11's gap):
// a grid-node process killed while the controller is stopped sends its unavailable presence to
// nobody, so after the controller starts again it pings each full JID that holds a temporary
// subscription (src/xmpp/temporary-probe.ts) and ends the subscriptions of the gone ones. A
// process still running answers the ping and keeps its subscription (and its feed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import xml from '@xmpp/xml';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import { GridClient } from '../../src/agent/index.js';
import type { NodeConnection } from '../../src/agent/types.js';

const CLI = join(process.cwd(), 'dist/src/agent/cli/grid-node.js');
const TOPIC = 'threat-intel/indicators';
let grid: DevGrid;
const clients: GridClient[] = [];
const conns: NodeConnection[] = [];
const children: ChildProcessWithoutNullStreams[] = [];

before(async () => {
  grid = await startDevGrid({ nodes: [{ name: 'soc1', OU: 'soc' }, { name: 'sandbox1', OU: 'malware-lab' }] });
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const c of clients) await c.close().catch(() => undefined);
  for (const c of conns) await c.close().catch(() => undefined);
  await grid?.stop();
});

const service = () => `xmpps://127.0.0.1:${grid.server.ports.c2sTls}`;
async function client(name: string): Promise<GridClient> {
  const n = grid.pki.nodes[name]!;
  const c = await GridClient.connect({ service: service(), domain: 'grid.test', certFile: n.cert, keyFile: n.key, ca: readFileSync(grid.pki.ca.cert, 'utf8') });
  clients.push(c);
  return c;
}

interface Collector { child: ChildProcessWithoutNullStreams; subid: string; item(id: string): Promise<{ id: string; subid: string | null }>; exited: Promise<number | null>; stderr(): string }

/** `grid-node subscribe` as soc1 (its own random resource, a temporary subscription). */
async function collector(): Promise<Collector> {
  const n = grid.pki.nodes.soc1!;
  const child = spawn(process.execPath, [CLI, 'subscribe', TOPIC, '--service', service(), '--domain', 'grid.test',
    '--cert', n.cert, '--key', n.key, '--ca', grid.pki.ca.cert], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  const items: { id: string; subid: string | null }[] = [];
  const waiters = new Map<string, (it: { id: string; subid: string | null }) => void>();
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  createInterface({ input: child.stdout }).on('line', (l) => {
    const it = JSON.parse(l) as { id: string; subid: string | null };
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
  const item = (id: string) => new Promise<{ id: string; subid: string | null }>((resolve, reject) => {
    const had = items.find((x) => x.id === id);
    if (had) return resolve(had);
    waiters.set(id, resolve);
    void exited.then((code) => reject(new Error(`grid-node exited (${code}) before item ${id}: ${stderr}`)));
  });
  return { child, subid: await subscribed, item, exited, stderr: () => stderr };
}

/** XEP-0199 ping from a node to `jid`: 'result', or the error condition the server or client gave. */
async function ping(from: NodeConnection, jid: string): Promise<string> {
  try {
    await from.iq(xml('iq', { type: 'get', to: jid }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    return 'result';
  } catch (err) {
    return String((err as { condition?: string }).condition ?? (err as Error).message);
  }
}

const T = '2024-05-01T00:00:00.000Z';
const indicator = (k: number) => ({ type: 'indicator', spec_version: '2.1', id: `indicator--00000000-0000-4000-8000-${String(k).padStart(12, '0')}`, created: T, modified: T,
  pattern: `[ipv4-addr:value = '198.51.100.${k}']`, pattern_type: 'stix', valid_from: T });

test('a collector killed while the controller is stopped loses its temporary subscription at the restart; a live one keeps it', { timeout: 120_000 }, async () => {
  const soc = await client('soc1');
  if ((await soc.register()).status !== 'approved') assert.equal((await soc.waitForApproval(20_000)).status, 'approved');
  await soc.close();
  const pub = await client('sandbox1');
  assert.equal((await pub.register({ groups: ['providers'], deviceType: 'sandbox' })).status, 'approved');

  const a = await collector();
  const b = await collector();
  const subs = grid.controller!.topics.subscriptionsOfOwner('soc1@grid.test', TOPIC);
  const jidOf = (subid: string) => subs.find((s) => s.subid === subid)!.jid;
  const [jidA, jidB] = [jidOf(a.subid), jidOf(b.subid)];
  assert.ok(subs.every((s) => s.expire === 'presence'), 'grid-node subscribes temporarily');

  await grid.stopController();
  a.child.kill('SIGKILL');
  await a.exited;
  // The server has ended A's session once it says so for A's full JID; B, alive, answers itself.
  const watcher = await grid.connect('sandbox1');
  conns.push(watcher);
  let answer = await ping(watcher, jidA);
  while (answer === 'result') answer = await ping(watcher, jidA);
  assert.equal(answer, 'service-unavailable');
  assert.equal(await ping(watcher, jidB), 'result', 'a live grid-node answers XEP-0199 ping');

  const controller = await grid.startController();
  const outcome = await controller.temporaryProbe.settled();
  assert.deepEqual(outcome, { probed: 2, gone: [jidA], ended: 1 });
  assert.deepEqual(controller.topics.subscriptionsOfOwner('soc1@grid.test', TOPIC).map((s) => s.subid), [b.subid], 'only the live process keeps its subscription');
  const audited = controller.ops.audit.recent().filter((e) => e.fields.jid === jidA).map((e) => e.event);
  assert.deepEqual(audited.sort(), ['temporary-subscription-gone', 'unsubscribed'], 'the decision and the end, both audited');

  // B's feed goes on, and the ended subscription is gone from the store too (a second restart).
  await pub.publish(TOPIC, indicator(1), { id: 'after-restart' });
  assert.equal((await b.item('after-restart')).subid, b.subid);
  await grid.stopController();
  const again = await grid.startController();
  assert.deepEqual(await again.temporaryProbe.settled(), { probed: 1, gone: [], ended: 0 });
  assert.deepEqual(again.topics.subscriptionsOfOwner('soc1@grid.test', TOPIC).map((s) => s.subid), [b.subid]);
  b.child.kill('SIGTERM');
  assert.equal(await b.exited, 0, b.stderr());
});
