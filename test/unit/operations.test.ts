// The pure parts of the operator's tools: last seen, bounded labels, the listen address, the
// IQ operation label, the audit → counter mapping, and the status report's sections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import { SeenBook } from '../../src/admin/seen.js';
import { StatusBuilder, type StatusSources } from '../../src/admin/status.js';
import { LabelCap, OTHER } from '../../src/metrics/labels.js';
import { parseListen } from '../../src/metrics/server.js';
import { PromMetrics } from '../../src/metrics/prom.js';
import { stanzaKind } from '../../src/metrics/sink.js';
import { iqOperation } from '../../src/xmpp/observe.js';
import { renderStatus } from '../../src/cli/status.js';
import { operatorName } from '../../src/cli/operator.js';
import type { Policy } from '../../src/policy/types.js';

test('seen: heard → online within the window; gone or silent → offline, last seen kept', () => {
  let now = 1_000_000;
  const seen = new SeenBook(60_000, () => now);
  assert.deepEqual(seen.get('a@g'), { online: false, lastSeen: null });
  seen.heard('a@g');
  assert.deepEqual(seen.get('a@g'), { online: true, lastSeen: new Date(1_000_000).toISOString() });
  now += 60_001;
  assert.equal(seen.get('a@g').online, false, 'silent for longer than the window');
  seen.heard('a@g');
  seen.gone('a@g');
  assert.deepEqual(seen.get('a@g'), { online: false, lastSeen: new Date(now).toISOString() });
  seen.heard('b@g');
  assert.equal(seen.onlineCount(), 1);
  assert.equal(seen.onlineCount((j) => j !== 'b@g'), 0, 'counts only the JIDs asked about');
  seen.forget('b@g');
  assert.equal(seen.onlineCount(), 0);
});

test('seen: bounded; the longest-silent entry goes first', () => {
  const seen = new SeenBook(60_000, () => 0, 2);
  seen.heard('a@g');
  seen.heard('b@g');
  seen.heard('a@g'); // a is now the most recent
  seen.heard('c@g');
  assert.deepEqual(['a@g', 'b@g', 'c@g'].map((j) => seen.get(j).lastSeen !== null), [true, false, true]);
});

test('label cap: the first N values, then _other', () => {
  const cap = new LabelCap(2);
  assert.deepEqual(['a', 'b', 'c', 'a', 'd'].map((v) => cap.label(v)), ['a', 'b', OTHER, 'a', OTHER]);
});

test('metrics.listen: host:port, [v6]:port; anything else is refused', () => {
  assert.deepEqual(parseListen('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseListen('[::1]:9464'), { host: '::1', port: 9464 });
  assert.deepEqual(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  for (const bad of ['9464', '127.0.0.1', '1.2.3.4:99999', '::1:9464', 'a b:1']) assert.equal(parseListen(bad), null, bad);
});

test('stanza kinds and IQ operations are drawn from the stanza, bounded by the caps', () => {
  assert.deepEqual([stanzaKind('iq', 'get'), stanzaKind('iq', 'bogus'), stanzaKind('message', undefined), stanzaKind('message', 'error'), stanzaKind('x', 'y')],
    ['iq-get', 'iq-other', 'message', 'message-error', 'other']);
  const ps = xml('pubsub', { xmlns: 'http://jabber.org/protocol/pubsub' }, xml('publish', { node: 't' }), xml('publish-options'));
  assert.equal(iqOperation(ps), 'pubsub#publish');
  assert.equal(iqOperation(xml('pubsub', { xmlns: 'http://jabber.org/protocol/pubsub#owner' }, xml('configure'))), 'pubsub#owner#configure');
  assert.equal(iqOperation(xml('query', { xmlns: 'jabber:iq:register' })), 'register#query');
  assert.equal(iqOperation(xml('ping', { xmlns: 'urn:xmpp:ping' })), 'ping#ping');
});

test('prom: audit events become decision and registration counters; topics are capped', async () => {
  const m = new PromMetrics({
    linkUp: () => true, accountsByState: () => ({ approved: 3 }), subscriptions: () => 7, outboxQueued: () => 0, bounces: () => 4,
    multicast: () => ({ messages: 1, copies: 5, fallbacks: 0 }),
    limits: () => ({ refusedBy: { iq: 9, publish: 2, payload_bytes: 0, queue: 1 }, suspensions: 1, delayed: 6, active: 3, queued: 5 }),
  }, { maxTopics: 1 });
  m.audit('authorization', { effect: 'deny', operation: 'publish' });
  m.audit('registration', { result: 'refused' });
  m.audit('registration', { result: 'accepted', status: 'pending' });
  m.audit('registration', { result: 'accepted', status: 'made-up' });
  m.published('t1');
  m.published('t2');
  m.published('t3');
  const text = await m.registry.metrics();
  for (const line of [
    'grid_policy_decisions_total{effect="deny",operation="publish"} 1',
    'grid_registrations_total{outcome="refused"} 1', 'grid_registrations_total{outcome="pending"} 1', 'grid_registrations_total{outcome="other"} 1',
    'grid_publishes_total{topic="t1"} 1', 'grid_publishes_total{topic="_other"} 2',
    'grid_accounts{state="approved"} 3', 'grid_subscriptions 7', 'grid_bounces_total 4', 'grid_multicast_copies_total 5', 'grid_xmpp_link_up 1',
    'grid_requests_refused_total{limit="iq"} 9', 'grid_requests_refused_total{limit="publish"} 2',
    'grid_requests_refused_total{limit="payload_bytes"} 0', 'grid_requests_refused_total{limit="queue"} 1',
    'grid_rate_limit_suspensions_total 1', 'grid_requests_delayed_total 6', 'grid_requests_active 3', 'grid_requests_queued 5',
  ]) assert.ok(text.includes(`\n${line}\n`), line);
  // Pulled counters are read afresh at every scrape, never accumulated.
  const again = await m.registry.metrics();
  assert.ok(again.includes('\ngrid_bounces_total 4\n'));
  assert.ok(again.includes('\ngrid_requests_refused_total{limit="iq"} 9\n'));
  assert.equal(again.match(/^grid_requests_refused_total\{/gm)?.length, 4, 'one series per limit, no more');
});

function sources(over: Partial<StatusSources> = {}): StatusSources {
  const policy = { admins: [], groups: {}, autoApprove: [], topics: [], rules: [], files: ['a.yaml'], loadedAt: '2026-01-01T00:00:00.000Z' } as unknown as Policy;
  return {
    version: '9.9.9', startedAt: new Date('2026-01-01T00:00:00Z'), now: () => new Date('2026-01-01T01:02:03Z'),
    link: () => ({ online: false, reconnecting: true, service: 'xmpp://127.0.0.1:5347', domain: 'controller.grid.test' }),
    multicast: () => ({ mode: 'auto', in_use: false, hosts: [], messages: 0, copies: 0, fallbacks: 0 }),
    taxiiUrl: () => null, metricsUrl: () => null,
    accounts: () => [{ jid: 'n@g', status: 'approved', effective: 'revoked', requestedGroups: [], createdAt: '', updatedAt: '' }],
    online: () => 0, topics: () => ({ topics: 1, subtopics: 2, subscriptions: 3 }), itemsStored: () => 4, policy: () => policy,
    ...over,
  };
}

test('status: one report; sections others add appear in JSON and text; a failing section says so', () => {
  const b = new StatusBuilder(sources());
  b.section('store', () => ({ damaged: 0 }));
  b.section('cluster', () => {
    throw new Error('no peers file');
  });
  assert.throws(() => b.section('policy', () => ({})), /exists already/);
  b.reloaded({ ok: false, errors: [{ file: 'p/20.yaml', line: 3, message: 'bad effect' }] });
  const r = b.report();
  assert.equal(r.uptime_s, 3723);
  assert.deepEqual(r.accounts.by_state, { pending: 0, approved: 0, denied: 0, revoked: 1, suspended: 0 }, 'counted by effective state');
  assert.deepEqual([r.store, r.cluster], [{ damaged: 0 }, { error: 'no peers file' }]);
  assert.deepEqual(r.policy.last_reload && [r.policy.last_reload.ok, r.policy.last_reload.errors], [false, ['p/20.yaml:3: bad effect']]);
  const text = renderStatus(r);
  assert.match(text[0]!, /^grid-controller 9\.9\.9 running \(pid \d+\), up 1h 2m since 2026-01-01T00:00:00\.000Z$/);
  assert.ok(text.includes('xmpp       down (reconnecting)  controller.grid.test via xmpp://127.0.0.1:5347'));
  assert.ok(text.includes('taxii      off'));
  assert.ok(text.some((l) => /^reload\s+REJECTED at .*p\/20\.yaml:3: bad effect/.test(l)));
  assert.ok(text.includes('store      {"damaged":0}'));
});

test('operator: $SUDO_USER before $USER; a name that is not a login is left out', () => {
  assert.deepEqual(operatorName({ SUDO_USER: 'alice', USER: 'root' }), { operator: 'alice' });
  assert.deepEqual(operatorName({ USER: 'bob' }), { operator: 'bob' });
  assert.deepEqual(operatorName({ USER: 'evil\nname' }), {});
});
