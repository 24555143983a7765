// The operator's tools against a real Prosody: the Prometheus endpoint (counters move by
// exactly what the test did), /healthz, and the CLI's status, accounts show/list and topics
// list, run as separate processes against the running controller's admin socket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { CTL, id, isAccountMessage, register } from '../helpers/grid-client.js';
import { scrape as scrapeMetrics } from '../helpers/metrics.js';

const CLI = join(process.cwd(), 'dist/src/cli/grid-controller.js');
const PS = 'http://jabber.org/protocol/pubsub';
const EV = 'http://jabber.org/protocol/pubsub#event';
const T = 'threat-intel/indicators';

let grid: DevGrid;
const nodes: Record<string, NodeConnection> = {};

before(async () => {
  grid = await startDevGrid({
    nodes: [{ name: 'sandbox', OU: 'malware-lab' }, { name: 'soc1', OU: 'soc' }, { name: 'partner1', OU: 'partners' }],
    env: { GRID_METRICS_LISTEN: '127.0.0.1:0' },
  });
  for (const n of ['sandbox', 'soc1', 'partner1']) nodes[n] = await grid.connect(n);
});
after(async () => {
  for (const c of Object.values(nodes)) await c.close().catch(() => {});
  await grid?.stop();
});

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRID_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...base, GRID_DATA: grid.cfg.data, GRID_POLICIES: grid.cfg.policies, ...env }, timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

const scrape = () => scrapeMetrics(grid.controller!.ops.metricsUrl);

const iq = (type: 'get' | 'set', child: Element) => xml('iq', { type, to: CTL, id: id('op') }, child);
const bundle = (n: number) => JSON.stringify({
  type: 'bundle', id: `bundle--6f1d7c6e-3b65-4a2c-9a43-${String(n).padStart(12, '0')}`,
  objects: [{
    type: 'indicator', spec_version: '2.1', id: `indicator--6b1e8f4c-3c2a-4d7e-9f10-${String(n).padStart(12, '0')}`,
    created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', name: `ops ${n}`,
    pattern: `[domain-name:value = 'ops-${n}.example']`, pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z',
  }],
});

test('metrics: every counter moves by what the grid did; /healthz follows the link', async () => {
  const health = await fetch(`${grid.controller!.ops.metricsUrl}/healthz`);
  assert.deepEqual([health.status, await health.json()], [200, { xmpp: 'up' }]);
  const m0 = await scrape();
  assert.ok(m0.has('process_cpu_user_seconds_total'), 'default process metrics are there');
  const v0 = (k: string) => m0.get(k) ?? 0;

  // 3 registrations (2 auto-approved, 1 pending), 1 subscription, 2 publishes, 2 deliveries.
  await register(nodes.sandbox!, grid.pki.nodes.sandbox!, { deviceType: 'sandbox', groups: ['providers'] });
  const approved = nodes.soc1!.waitFor(isAccountMessage('approved'));
  await register(nodes.soc1!, grid.pki.nodes.soc1!, { deviceType: 'siem' });
  await approved;
  await register(nodes.partner1!, grid.pki.nodes.partner1!, { deviceType: 'tip', groups: ['partners'] });
  await nodes.soc1!.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('subscribe', { node: T, jid: nodes.soc1!.jid }))));
  for (const n of [1, 2]) {
    const got = nodes.soc1!.waitFor((s) => s.getChild('event', EV)?.getChild('items')?.getChild('item')?.attrs.id === `ops-${n}`);
    await nodes.sandbox!.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('publish', { node: T }, xml('item', { id: `ops-${n}` }, xml('json', { xmlns: 'urn:xmpp:json:0' }, bundle(n)))))));
    await got;
  }

  const m1 = await scrape();
  const delta = (k: string) => (m1.get(k) ?? 0) - v0(k);
  const topic = `topic="${T}"`;
  assert.equal(delta(`grid_publishes_total{${topic}}`), 2);
  assert.equal(delta(`grid_deliveries_total{${topic}}`), 2);
  assert.equal(delta('grid_registrations_total{outcome="approved"}'), 2);
  assert.equal(delta('grid_registrations_total{outcome="pending"}'), 1);
  assert.equal(delta('grid_iq_duration_seconds_count{operation="pubsub#publish"}'), 2);
  assert.equal(delta('grid_iq_duration_seconds_count{operation="pubsub#subscribe"}'), 1);
  assert.equal(delta('grid_iq_duration_seconds_count{operation="register#query"}'), 6, 'a get and a set per registration');
  assert.equal(delta('grid_policy_decisions_total{effect="permit",operation="publish"}'), 2);
  // The subscribe itself, and again at delivery for the subscription's TLP cap (cached).
  assert.ok(delta('grid_policy_decisions_total{effect="permit",operation="subscribe"}') >= 1);
  assert.ok(delta('grid_stanzas_in_total{kind="iq-set"}') >= 6, 'register ×3, subscribe, publish ×2');
  assert.ok(delta('grid_stanzas_out_total{kind="message"}') >= 3, 'two notifications and the approval');
  assert.ok(delta('grid_store_fsync_seconds_count') >= 2, 'each publish waited for its fsync');
  assert.equal(m1.get('grid_accounts{state="approved"}'), 2);
  assert.equal(m1.get('grid_accounts{state="pending"}'), 1);
  assert.equal(m1.get('grid_subscriptions'), 1);
  assert.equal(m1.get('grid_xmpp_link_up'), 1);
  assert.equal(m1.get('grid_outbox_queued'), 0);
});

test('status: exit 0 and the whole picture; --json is the same report', async () => {
  const j = await cli(['status', '--json']);
  assert.equal(j.code, 0, j.stderr);
  const r = JSON.parse(j.stdout);
  assert.equal(r.xmpp.link, 'up');
  assert.equal(r.xmpp.domain, CTL);
  assert.deepEqual(r.accounts.by_state, { pending: 1, approved: 2, denied: 0, revoked: 0, suspended: 0 });
  assert.deepEqual(r.accounts.pending.map((p: { jid: string; requested_groups: string[] }) => [p.jid, p.requested_groups]), [['partner1@grid.test', ['partners']]]);
  assert.equal(r.accounts.online, 3, 'all three nodes talked to the controller just now');
  assert.deepEqual(r.topics, { topics: 3, subtopics: 0, subscriptions: 1 });
  assert.deepEqual(r.items, { stored: 2 });
  assert.equal(r.taxii.url, null);
  assert.equal(r.metrics.url, grid.controller!.ops.metricsUrl);
  assert.match(r.policy.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(r.multicast.mode, 'auto');
  assert.equal(r.multicast.in_use, grid.controller!.multicast.offers('grid.test'));
  const t = await cli(['status']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^grid-controller \d+\.\d+\.\d+ running \(pid \d+\), up /);
  assert.match(t.stdout, /\nxmpp\s+up\s+controller\.grid\.test via xmpp:\/\/127\.0\.0\.1:\d+\n/);
  assert.match(t.stdout, /\ntaxii\s+off\n/);
  assert.match(t.stdout, /\naccounts\s+1 pending, 2 approved, 0 denied, 0 revoked, 0 suspended; 3 online\n/);
  assert.match(t.stdout, /\npending\s+partner1@grid\.test \(tip\) asks for partners\n/);
  assert.match(t.stdout, /\nitems\s+2 stored\n/);
  assert.match(t.stdout, /\nreload\s+none since start\n/);
});

test('accounts show, list and approve name the operator; topics list shows what was published', async () => {
  const s = await cli(['accounts', 'show', 'partner1@grid.test']);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /^jid\s+partner1@grid\.test$/m);
  assert.match(s.stdout, /^status\s+pending$/m);
  assert.match(s.stdout, /^groups requested\s+partners$/m);
  assert.match(s.stdout, /^cert subject\s+.*OU=partners/m);
  assert.match(s.stdout, /^cert issuer\s+.*O=Grid Dev CA/m);
  assert.match(s.stdout, /^cert fingerprint\s+SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/m);
  assert.match(s.stdout, /^online\s+yes$/m);
  assert.match(s.stdout, /^last seen\s+\d{4}-\d\d-\d\dT/m);

  const a = await cli(['accounts', 'approve', 'partner1@grid.test'], { SUDO_USER: 'alice', USER: 'root' });
  assert.equal(a.code, 0, a.stderr);
  assert.equal(grid.controller!.accounts.get('partner1@grid.test')!.decidedBy, 'cli:alice');
  const j = JSON.parse((await cli(['accounts', 'show', 'partner1@grid.test', '--json'])).stdout);
  assert.deepEqual([j.status, j.decidedBy, j.seen.online], ['approved', 'cli:alice', true]);

  const l = await cli(['accounts', 'list']);
  assert.equal(l.code, 0, l.stderr);
  const [head, ...rows] = l.stdout.trimEnd().split('\n');
  assert.match(head!, /DECIDED BY\s+REQUESTED\s+FINGERPRINT\s+LAST SEEN$/);
  const partner = rows.find((r) => r.startsWith('partner1@grid.test'))!;
  assert.match(partner, /\s+cli:alice\s+partners\s+([0-9A-F]{2}:){7}[0-9A-F]{2}…\s+online$/);

  const tl = await cli(['topics', 'list']);
  assert.equal(tl.code, 0, tl.stderr);
  assert.match(tl.stdout, /^threat-intel\/indicators .*\n {2}items 2 {2}published by sandbox@grid\.test {2}last published \d{4}-\d\d-\d\dT/m);
  const tj = (await cli(['topics', 'list', '--json'])).stdout.trim().split('\n').map((x) => JSON.parse(x));
  const ind = tj.find((x: { name: string }) => x.name === T);
  assert.deepEqual([ind.items, ind.published_by], [2, ['sandbox@grid.test']]);
});

test('status: exit 1 with one line when no controller answers; /healthz says down', async () => {
  const url = grid.controller!.ops.metricsUrl!;
  await grid.controller!.link.stop(); // the link goes, the endpoint stays
  const h = await fetch(`${url}/healthz`);
  assert.deepEqual([h.status, await h.json()], [503, { xmpp: 'down' }]);
  await grid.stopController();
  const r = await cli(['status']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^grid-controller is not running \(.*admin\.sock.*\)\n$/);
});
