// The connection agent end to end on a real grid (Prosody + controller + dev PKI), driving the
// controller ONLY through the GridClient library and the `grid-node` command.
import { STIX_EXAMPLES } from '../../src/devgrid/data-files.js';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import { GridClient, GridError, type GridEvent } from '../../src/agent/index.js';

const CLI = join(process.cwd(), 'dist/src/agent/cli/grid-node.js');
const BUNDLE = join(STIX_EXAMPLES, 'indicators-for-C2-with-COA.json');
const TOPIC = 'threat-intel/indicators';
let grid: DevGrid;
const clients: GridClient[] = [];
const children: ChildProcessWithoutNullStreams[] = [];

before(async () => {
  grid = await startDevGrid({ nodes: [{ name: 'soc1', OU: 'soc' }, { name: 'sandbox1', OU: 'malware-lab' }, { name: 'analyst', OU: 'research' }] });
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const c of clients) await c.close().catch(() => undefined);
  await grid?.stop();
});

function flags(name: string): string[] {
  const n = grid.pki.nodes[name]!;
  return ['--service', `xmpps://127.0.0.1:${grid.prosody.ports.c2sTls}`, '--domain', 'grid.test', '--cert', n.cert, '--key', n.key, '--ca', grid.pki.ca.cert];
}

async function client(name: string): Promise<GridClient> {
  const n = grid.pki.nodes[name]!;
  const ca = readFileSync(grid.pki.ca.cert, 'utf8');
  const c = await GridClient.connect({ service: `xmpps://127.0.0.1:${grid.prosody.ports.c2sTls}`, domain: 'grid.test', certFile: n.cert, keyFile: n.key, ca });
  clients.push(c);
  return c;
}

interface Run { code: number | null; stdout: string; stderr: string }
function gridNode(args: string[]): { child: ChildProcessWithoutNullStreams; done: Promise<Run>; line(pred: (l: string) => boolean, from: 'stdout' | 'stderr'): Promise<string> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  // Every line is kept from the start, so a line that came before anyone waits is not lost.
  const seen = { stdout: [] as string[], stderr: [] as string[] };
  const waiters: { from: 'stdout' | 'stderr'; pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  for (const from of ['stdout', 'stderr'] as const) {
    createInterface({ input: child[from] }).on('line', (l) => {
      seen[from].push(l);
      for (const w of waiters.filter((x) => x.from === from && x.pred(l))) { waiters.splice(waiters.indexOf(w), 1); w.resolve(l); }
    });
  }
  const line = (pred: (l: string) => boolean, from: 'stdout' | 'stderr') => new Promise<string>((resolve, reject) => {
    const already = seen[from].find(pred);
    if (already !== undefined) return resolve(already);
    waiters.push({ from, pred, resolve });
    void done.then((r) => reject(new Error(`grid-node ${args[0]} exited (${r.code}) before the expected line; stderr: ${r.stderr}`)));
  });
  return { child, done, line };
}

async function nextEvent(it: AsyncIterator<GridEvent>, pred: (e: GridEvent) => boolean): Promise<GridEvent> {
  for (;;) {
    const r = await it.next();
    if (r.done) throw new Error('event stream ended');
    if (pred(r.value)) return r.value;
  }
}

test('register: the library (auto-approved provider) and the command (auto-approved SOC node)', async () => {
  const sandbox = await client('sandbox1');
  assert.deepEqual(await sandbox.status(), { registered: false, groups: [] });
  const state = await sandbox.register({ groups: ['providers'], deviceType: 'sandbox', description: 'agent test' });
  assert.deepEqual(state, { registered: true, status: 'approved', groups: ['providers'] });

  const r = await gridNode(['register', '--json', '--wait', '20', ...flags('soc1')]).done;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { jid: 'soc1@grid.test', registered: true, status: 'approved', groups: ['soc'] });
});

test('waitForApproval resolves on the §2 account message after an administrator approves', async () => {
  const analyst = await client('analyst');
  const state = await analyst.register({ description: 'needs a human' });
  assert.equal(state.status, 'pending');
  const denied = await analyst.subscribe(TOPIC).then(() => undefined, (e: unknown) => e);
  assert.ok(denied instanceof GridError, 'pending account is refused');
  assert.deepEqual([denied.condition, denied.appCondition], ['forbidden', 'account-pending']);
  const waiting = analyst.waitForApproval(10_000);
  const ok = await grid.controller!.accounts.approve('analyst@grid.test', 'test', ['partners']);
  assert.ok(!('fail' in ok));
  assert.deepEqual(await waiting, { registered: true, status: 'approved', groups: ['partners'] });
});

test('topics: title, content type, filtering and filter fields from disco', async () => {
  const r = await gridNode(['topics', '--json', ...flags('soc1')]).done;
  assert.equal(r.code, 0, r.stderr);
  const topics = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const ioc = topics.find((t) => t.node === TOPIC);
  assert.ok(ioc, `listed: ${topics.map((t) => t.node).join(', ')}`);
  assert.equal(ioc.contentType, 'application/stix+json;version=2.1');
  assert.equal(ioc.filtering, 'controller');
  assert.ok(ioc.filterFields.includes('type') && ioc.filterFields.includes('location'));
});

test('subscribe (command, filtered) → publisher learns the subtopic → publish (command) → one JSON line with the cut bundle', async () => {
  const sandbox = clients.find((c) => c.bareJid === 'sandbox1@grid.test')!;
  assert.deepEqual(await sandbox.registerPublisher(TOPIC), []);
  const events = sandbox.items();
  const sub = gridNode(['subscribe', TOPIC, '--filter', 'type=indicator', '--count', '1', ...flags('soc1')]);
  await sub.line((l) => l.includes(`subscribed to ${TOPIC}`), 'stderr');
  const created = await nextEvent(events, (e) => e.kind === 'subtopic');
  assert.deepEqual(created, { kind: 'subtopic', action: 'created', node: created.kind === 'subtopic' ? created.node : '', parent: TOPIC, filter: { type: ['indicator'] } });
  assert.match((created as { node: string }).node, /^threat-intel\/indicators~[0-9a-f]{16}$/);
  assert.equal((await sandbox.subtopics(TOPIC)).length, 1);

  const pub = await gridNode(['publish', TOPIC, BUNDLE, ...flags('sandbox1')]).done;
  assert.equal(pub.code, 0, pub.stderr);
  assert.match(pub.stderr, /published .* as item /);

  const line = JSON.parse(await sub.line((l) => l.startsWith('{'), 'stdout'));
  assert.deepEqual(Object.keys(line), ['topic', 'id', 'seq', 'published', 'publisher', 'subid', 'payload']);
  assert.equal(line.topic, TOPIC);
  assert.equal(line.publisher, 'sandbox1@grid.test');
  assert.ok(typeof line.subid === 'string' && line.subid.length > 0, `subid filled with one subscription held (issue 11): ${line.subid}`);
  assert.ok(Number.isInteger(line.seq) && line.seq >= 1);
  const types = (line.payload.objects as { type: string }[]).map((o) => o.type);
  assert.ok(types.includes('indicator'));
  assert.ok(!types.includes('malware') && !types.includes('course-of-action'), `cut to the filter: ${types.join(', ')}`);
  const end = await sub.done;
  assert.equal(end.code, 0, end.stderr);
  assert.equal(end.stdout.trim().split('\n').length, 1, 'stdout carries only the data line');
  await nextEvent(events, (e) => e.kind === 'subtopic' && e.action === 'deleted');
  void events.return?.();
});

test('query: JSON lines from the command; --after-seq skips what was seen; the library pages by seq', async () => {
  const sandbox = clients.find((c) => c.bareJid === 'sandbox1@grid.test')!;
  for (let i = 0; i < 4; i++) {
    await sandbox.publish(TOPIC, { type: 'indicator', spec_version: '2.1', id: `indicator--0000000${i}-0000-4000-8000-000000000000`,
      created: '2024-01-01T00:00:00.000Z', modified: '2024-01-01T00:00:00.000Z', pattern: "[ipv4-addr:value = '198.51.100.1']",
      pattern_type: 'stix', valid_from: '2024-01-01T00:00:00Z' }, { id: `q${i}` });
  }
  const all = await gridNode(['query', TOPIC, ...flags('soc1')]).done;
  assert.equal(all.code, 0, all.stderr);
  const lines = all.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 5);
  assert.deepEqual([...new Set(lines.map((l) => l.publisher))], ['sandbox1@grid.test'], 'query lines name the publisher (issue 11)');
  const seqs = lines.map((l) => l.seq);
  assert.deepEqual([...seqs].sort((a, b) => a - b), seqs, 'ascending seq');
  const after = await gridNode(['query', TOPIC, '--after-seq', String(seqs[2]), '--filter', 'type=indicator', ...flags('soc1')]).done;
  assert.deepEqual(after.stdout.trim().split('\n').map((l) => JSON.parse(l).id), ['q2', 'q3']);

  const soc = await client('soc1');
  const pages: number[] = [];
  for await (const page of soc.query(TOPIC, { max: 2 })) pages.push(page.items.length);
  assert.deepEqual(pages, [2, 2, 1]);
});

test('a denied operation is a typed error, and one clear line with exit 1 from the command', async () => {
  const sandbox = clients.find((c) => c.bareJid === 'sandbox1@grid.test')!;
  const e = await sandbox.subscribe(TOPIC).then(() => undefined, (err: unknown) => err);
  assert.ok(e instanceof GridError);
  assert.deepEqual([e.kind, e.type, e.condition, e.appCondition], ['stanza', 'cancel', 'not-allowed', 'closed-node']);

  const r = await gridNode(['publish', TOPIC, BUNDLE, ...flags('soc1')]).done;
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  const errLines = r.stderr.trim().split('\n');
  assert.match(errLines.at(-1)!, /^grid-node: forbidden: /);
});

test('provide --watch: files dropped in the folder are published and moved to .published/ or .failed/', async () => {
  const dir = mkdtempSync(join(grid.workDir, 'spool-'));
  const soc = clients.find((c) => c.bareJid === 'soc1@grid.test')!;
  const events = soc.items();
  await soc.subscribe('threat-intel/attack-patterns');
  const prov = gridNode(['provide', 'threat-intel/attack-patterns', '--watch', dir, '--split', ...flags('sandbox1')]);
  await prov.line((l) => l.includes('watching'), 'stderr');
  const ap = { type: 'attack-pattern', spec_version: '2.1', id: 'attack-pattern--6e8e6d8e-1111-4a7b-9a7e-0b4cf0a9d001',
    created: '2024-01-01T00:00:00.000Z', modified: '2024-01-01T00:00:00.000Z', name: 'Spearphishing' };
  writeFileSync(join(grid.workDir, 'ap.tmp'), JSON.stringify({ type: 'bundle', id: 'bundle--6e8e6d8e-1111-4a7b-9a7e-0b4cf0a9d002', objects: [ap] }));
  renameSync(join(grid.workDir, 'ap.tmp'), join(dir, 'ap.json'));
  const item = await nextEvent(events, (e) => e.kind === 'item' && e.topic === 'threat-intel/attack-patterns');
  assert.equal(item.kind === 'item' && item.id, ap.id, 'split items carry the STIX id');
  await prov.line((l) => l.includes('published ap.json'), 'stderr');
  assert.ok(existsSync(join(dir, '.published', 'ap.json')));
  writeFileSync(join(dir, 'broken.json'), '{"type": ');
  await prov.line((l) => l.includes('broken.json failed'), 'stderr');
  assert.match(readFileSync(join(dir, '.failed', 'broken.json.error.txt'), 'utf8'), /invalid JSON/);
  prov.child.kill('SIGTERM');
  const r = await prov.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /stopped: 1 published, 1 failed/);
  void events.return?.();
});

test('reconnect: after a lost connection the client logs in again and renews a subscription the controller dropped', async () => {
  const soc = await client('soc1');
  const events = soc.items();
  const sub = await soc.subscribe(TOPIC, { type: ['malware'] });
  // Another session of the same node removes the subscription behind this client's back.
  const other = await client('soc1');
  await other.unsubscribe(TOPIC, sub.subid);
  // Cut the TCP/TLS connection under the XMPP stream, as a network failure would.
  const socket = (soc as unknown as { conn: { xmpp: { socket: { socket?: { destroy(): void }; destroy?(): void } } } }).conn.xmpp.socket;
  (socket.socket ?? socket).destroy!();
  const back = await nextEvent(events, (e) => e.kind === 'reconnected');
  assert.equal(back.kind === 'reconnected' && back.resubscribed.length, 1);
  const renewed = (back as { resubscribed: { subid: string; filter?: unknown }[] }).resubscribed[0]!;
  assert.notEqual(renewed.subid, sub.subid);
  assert.deepEqual(renewed.filter, { type: ['malware'] });
  const listed = await soc.subscriptions(TOPIC);
  assert.ok(listed.some((s) => s.subid === renewed.subid), 'the controller lists the renewed subscription');
  void events.return?.();
});
