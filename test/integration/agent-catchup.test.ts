// A subscriber loses nothing across its own disconnects (issue 17 item 5), on a real grid:
// `grid-node subscribe --state FILE` sees Prosody stopped and restarted mid-stream, is killed
// with SIGKILL, and is started again on the same state file. Every item of its filter
// arrives exactly once, in seq order; the previous run's subscription does not linger.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import { startProsody } from '../../src/devgrid/prosody.js';
import type { ProsodyHandle } from '../../src/devgrid/types.js';
import { GridClient } from '../../src/agent/index.js';

const CLI = join(process.cwd(), 'dist/src/agent/cli/grid-node.js');
const TOPIC = 'threat-intel/indicators';
let grid: DevGrid;
let restarted: ProsodyHandle | undefined;
const clients: GridClient[] = [];
const children: ChildProcessWithoutNullStreams[] = [];

before(async () => {
  grid = await startDevGrid({ nodes: [{ name: 'soc1', OU: 'soc' }, { name: 'sandbox1', OU: 'malware-lab' }] });
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const c of clients) await c.close().catch(() => undefined);
  await grid?.stopController();
  await restarted?.stop();
  await grid?.stop(); // stops the first Prosody again: harmless
});

const service = () => `xmpps://127.0.0.1:${grid.prosody.ports.c2sTls}`;
async function client(name: string): Promise<GridClient> {
  const n = grid.pki.nodes[name]!;
  const c = await GridClient.connect({ service: service(), domain: 'grid.test', certFile: n.cert, keyFile: n.key, ca: readFileSync(grid.pki.ca.cert, 'utf8') });
  clients.push(c);
  return c;
}

interface Consumer { child: ChildProcessWithoutNullStreams; lines: string[]; line(from: 'stdout' | 'stderr', pred: (l: string) => boolean): Promise<string> }
function consumer(state: string): Consumer {
  const n = grid.pki.nodes.soc1!;
  const child = spawn(process.execPath, [CLI, 'subscribe', TOPIC, '--state', state, '--keep', '--filter', 'type=indicator',
    '--service', service(), '--domain', 'grid.test', '--cert', n.cert, '--key', n.key, '--ca', grid.pki.ca.cert], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  const seen = { stdout: [] as string[], stderr: [] as string[] };
  const waiters: { from: 'stdout' | 'stderr'; pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  for (const from of ['stdout', 'stderr'] as const) {
    createInterface({ input: child[from] }).on('line', (l) => {
      seen[from].push(l);
      for (const w of waiters.filter((x) => x.from === from && x.pred(l))) { waiters.splice(waiters.indexOf(w), 1); w.resolve(l); }
    });
  }
  return {
    child, lines: seen.stdout,
    line: (from, pred) => new Promise((resolve, reject) => {
      const already = seen[from].find(pred);
      if (already !== undefined) return resolve(already);
      waiters.push({ from, pred, resolve });
      void exited.then(() => reject(new Error(`the consumer exited before the expected line; stderr: ${stderr}`)));
    }),
  };
}

const T = '2024-05-01T00:00:00.000Z';
/** Odd k: an indicator (the consumer's filter keeps it); even k: malware (cut away). */
function payload(k: number): Record<string, unknown> {
  const id = `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`;
  return k % 2 ? { type: 'indicator', spec_version: '2.1', id: `indicator--${id}`, created: T, modified: T, pattern: `[ipv4-addr:value = '198.51.100.${k}']`, pattern_type: 'stix', valid_from: T }
    : { type: 'malware', spec_version: '2.1', id: `malware--${id}`, created: T, modified: T, name: `m${k}`, is_family: false };
}
async function publish(c: GridClient, from: number, to: number): Promise<void> {
  for (let k = from; k <= to; k++) await c.publish(TOPIC, payload(k), { id: `c-${k}` });
}
const isItem = (id: string) => (l: string) => l.startsWith('{') && (JSON.parse(l) as { id: string }).id === id;

/** Resolves once the state file holds `seq` for the subscription (watching its folder, no polling). */
async function stateReaches(path: string, seq: number): Promise<void> {
  const dir = join(path, '..');
  const read = () => { try { return Object.values((JSON.parse(readFileSync(path, 'utf8')) as { subscriptions: Record<string, { seq: number }> }).subscriptions)[0]?.seq ?? -1; } catch { return -1; } };
  const w = watch(dir);
  try {
    while (read() < seq) await once(w, 'change');
  } finally {
    w.close();
  }
}

test('Prosody stopped mid-stream and the consumer killed -9: every item of the filter once, in order', { timeout: 120_000 }, async () => {
  const soc = await client('soc1');
  if ((await soc.register()).status !== 'approved') assert.equal((await soc.waitForApproval(20_000)).status, 'approved');
  await soc.close();
  let pub = await client('sandbox1');
  assert.equal((await pub.register({ groups: ['providers'], deviceType: 'sandbox' })).status, 'approved');

  const state = join(mkdtempSync(join(tmpdir(), 'catchup-')), 'soc1.state.json');
  const run1 = consumer(state);
  await run1.line('stderr', (l) => l.includes('caught up: 0 item(s) after seq 0'));
  await publish(pub, 1, 6);
  await run1.line('stdout', isItem('c-5'));

  // The server goes away mid-stream and comes back on the same ports.
  const ctl = grid.controller!;
  const offline = once(ctl.link, 'offline');
  await grid.prosody.stop();
  await offline;
  await run1.line('stderr', (l) => l.includes('connection lost'));
  const online = once(ctl.link, 'online');
  restarted = await startProsody({ componentSecret: grid.cfg.xmpp.secret, caFile: grid.pki.ca.cert, certFile: grid.pki.server.cert, keyFile: grid.pki.server.key, ports: grid.prosody.ports });
  await online;
  await pub.close();
  pub = await client('sandbox1');
  await publish(pub, 7, 40); // racing the consumer's reconnect: some go by notification, some by catch-up
  await run1.line('stderr', (l) => l.startsWith('grid-node: reconnected'));
  // After the reconnect the consumer asks for what followed c-5 (a second catch-up line).
  const afterReconnect = await run1.line('stderr', (l) => l.includes('caught up:') && !l.includes('after seq 0'));
  process.stderr.write(`# ${afterReconnect}\n`);
  const c39 = JSON.parse(await run1.line('stdout', isItem('c-39'))) as { seq: number };

  // kill -9 once the consumer has handed c-39 on; what is published meanwhile waits for it.
  await stateReaches(state, c39.seq);
  run1.child.kill('SIGKILL');
  await once(run1.child, 'close');
  await publish(pub, 41, 46);

  const run2 = consumer(state);
  await run2.line('stderr', (l) => l.includes(`caught up: 3 item(s) after seq ${c39.seq}`));
  await publish(pub, 47, 48);
  await run2.line('stdout', isItem('c-47'));

  const got = [...run1.lines, ...run2.lines].filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { id: string; seq: number });
  assert.deepEqual(got.map((g) => g.id), Array.from({ length: 24 }, (_, i) => `c-${2 * i + 1}`));
  assert.ok(got.every((g, i) => i === 0 || g.seq > got[i - 1]!.seq), `seqs ascending: ${got.map((g) => g.seq).join(',')}`);
  assert.equal(grid.controller!.topics.subscriptionsOfOwner('soc1@grid.test').length, 1, 'the killed run\'s subscription was ended');
});
