// Holding and the over-rate suspension rule on the real server (README "Rate limits", issue
// 16): a request over its account's rate whose tokens are at most delay_ms away is answered
// late, in order, never refused, while another node is answered at once; a node that keeps
// itself over its rate by waiting for its held answers is never refused, yet is suspended by
// the second rule (over its rate for over_rate_s of the last within_s seconds); an honest node
// whose bursts are held for a second now and then is not. rate-limits.test.ts covers
// delay_ms 0 (refusals and the first rule).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startDevGrid, SHIPPED_POLICIES, type DevGrid } from '../../src/devgrid/devgrid.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { StanzaError } from '../../src/agent/connection.js';
import { CTL, NS_DATA, NS_GRID, enrolAdmin, id, isAccountMessage, register, refusal, runJidCommand } from '../helpers/grid-client.js';
import { scrape } from '../helpers/metrics.js';

const DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const COMMANDS = 'http://jabber.org/protocol/commands';
const RATE = 20;
const BURST = 20;
const WITHIN_S = 4;
const OVER_RATE_S = 3;
// violations far above anything these tests can be refused: only the over-rate rule can suspend.
const LIMITS = `limits:
  defaults: { iq_per_s: ${RATE}, iq_burst: ${BURST}, delay_ms: 3000 }
  suspend: { violations: 100000, within_s: ${WITHIN_S}, over_rate_s: ${OVER_RATE_S} }
# end
`;
/** Slack for timer granularity and a busy machine, on lower bounds derived from the rate. */
const SLACK_MS = 100;

let grid: DevGrid;
let policies: string;
let flood: NodeConnection;
let victim: NodeConnection;
let hog: NodeConnection;
let honest: NodeConnection;
let admin: NodeConnection;
/** Every <account status='suspended'/> message the honest node was sent. */
const honestSuspended: Element[] = [];

const items = () => xml('iq', { type: 'get', to: CTL, id: id('rh') }, xml('query', { xmlns: DISCO_ITEMS }));
const metrics = () => scrape(grid.controller!.ops.metricsUrl);
const refusedTotal = (m: Map<string, number>) =>
  ['iq', 'publish', 'payload_bytes', 'queue'].reduce((n, l) => n + (m.get(`grid_requests_refused_total{limit="${l}"}`) ?? 0), 0);
const describe = (e: unknown) => {
  if (e instanceof StanzaError) return `${e.type} ${e.condition}${e.appCondition ? ` ${e.appCondition.name}` : ''}`;
  throw e;
};

interface Answer { i: number; at: number; ok: boolean; error?: string }

/**
 * Sends `n` requests at once; the answers in the order they came back, each with its index
 * (the order sent) and the time it came (performance.now()), and when the first was sent.
 */
async function burst(c: NodeConnection, n: number, timeoutMs = 15_000): Promise<{ sent: number; answers: Answer[] }> {
  const answers: Answer[] = [];
  const sent = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => c.iq(items(), timeoutMs).then(
    (r) => { answers.push({ i, at: performance.now(), ok: !!r.getChild('query', DISCO_ITEMS) }); },
    (e: unknown) => { answers.push({ i, at: performance.now(), ok: false, error: describe(e) }); })));
  return { sent, answers };
}

before(async () => {
  policies = mkdtempSync(join(tmpdir(), 'rate-holding-policies-'));
  cpSync(SHIPPED_POLICIES, policies, { recursive: true });
  writeFileSync(join(policies, '50-limits.yaml'), LIMITS);
  grid = await startDevGrid({
    nodes: [{ name: 'flood', OU: 'soc' }, { name: 'victim', OU: 'soc' }, { name: 'hog', OU: 'soc' }, { name: 'honest', OU: 'soc' }, { name: 'admin', OU: 'ops' }],
    policiesDir: policies, env: { GRID_METRICS_LISTEN: '127.0.0.1:0' },
  });
  flood = await grid.connect('flood');
  victim = await grid.connect('victim');
  hog = await grid.connect('hog');
  honest = await grid.connect('honest');
  admin = await grid.connect('admin');
  for (const n of ['flood', 'victim', 'hog', 'honest'] as const) {
    const c = { flood, victim, hog, honest }[n];
    await register(c, grid.pki.nodes[n]!);
    assert.equal(grid.controller!.accounts.get(`${n}@grid.test`)?.status, 'approved', n);
  }
  await enrolAdmin(admin, grid.pki.nodes.admin!, grid.controller!.accounts);
  honest.on('stanza', (s) => { if (isAccountMessage('suspended')(s)) honestSuspended.push(s); });
});
after(async () => {
  for (const c of [flood, victim, hog, honest, admin]) await c?.close().catch(() => {});
  await grid?.stop();
  rmSync(policies, { recursive: true, force: true });
});

test('a burst over the rate is held, not refused: every request answered, in order, late by the rate; another node is answered at once', async () => {
  const N = 50;
  const m0 = await metrics();
  const flooding = burst(flood, N);
  // The other node, one request after the other while the flood's backlog is held.
  const victimMs: number[] = [];
  let victimDone = 0;
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    const r = await victim.iq(items());
    victimMs.push(performance.now() - t);
    assert.ok(r.getChild('query', DISCO_ITEMS), 'the other node is answered');
    victimDone = performance.now();
  }
  const { sent, answers } = await flooding;
  const m1 = await metrics();
  const late = answers.map((a) => Math.round(a.at - sent));
  console.log(`holding: flood answers at ${late.join(' ')} ms after the send; victim latencies ${victimMs.map((x) => x.toFixed(1)).join(' ')} ms`);

  assert.deepEqual(answers.filter((a) => !a.ok).map((a) => a.error), [], 'none refused');
  assert.equal(answers.length, N);
  // The held ones come back in the order sent: each waits in its lane for its token, 1/RATE s
  // after the one before. The first BURST are worked on together (inflight 8 at once, the rest
  // queued behind them) and may overtake one another: a page is built in slices
  // (src/topics/slice.ts) and one whose 10 ms slice ran out, e.g. while the whole burst was
  // being read, yields a turn of the event loop (seen on ejabberd, which delivers the burst in
  // one read); IQ answers are matched by id, so nothing promises their order.
  const heldOrder = answers.map((a) => a.i).filter((i) => i >= BURST);
  assert.deepEqual(heldOrder, Array.from({ length: N - BURST }, (_, k) => BURST + k), 'the held ones answered in the order sent');
  assert.deepEqual(answers.map((a) => a.i).sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i), 'each one answered once');
  // The bucket holds BURST tokens at the send at most and refills at RATE a second: request i
  // (its i+1st token) cannot be worked on before (i+1-BURST)/RATE s after the send.
  for (const a of answers) {
    const earliest = ((a.i + 1 - BURST) / RATE) * 1000 - SLACK_MS;
    assert.ok(a.at - sent >= earliest, `request ${a.i} answered ${Math.round(a.at - sent)} ms after the send, not before ${earliest} ms`);
  }
  const last = answers[N - 1]!.at - sent;
  assert.ok(last >= ((N - BURST) / RATE) * 1000 - SLACK_MS, `the last answer ${Math.round(last)} ms after the send`);
  // Held requests wait for their tokens only: the backlog is gone about when the rate says.
  assert.ok(last < ((N - BURST) / RATE) * 1000 + 3000, `the last answer ${Math.round(last)} ms after the send`);
  for (const ms of victimMs) assert.ok(ms < 1000, `the other node waited ${ms.toFixed(0)} ms`);
  assert.ok(victimDone < answers[N - 1]!.at, 'the other node was done before the flood\'s backlog drained');

  const delta = (k: string) => (m1.get(k) ?? 0) - (m0.get(k) ?? 0);
  const delayed = delta('grid_requests_delayed_total');
  assert.ok(delayed >= N - BURST - 10 && delayed <= N, `about ${N - BURST} of ${N} held: ${delayed}`);
  assert.equal(refusedTotal(m1) - refusedTotal(m0), 0, 'no refusal counted');
  assert.equal(m1.get('grid_rate_limit_suspensions_total'), 0);
  assert.equal(m1.get('grid_requests_queued'), 0, 'nothing waits once every answer came back');
  assert.equal(grid.controller!.accounts.get('flood@grid.test')?.status, 'approved', 'held for 1.5 s of the 4 s window: below the rule');
});

test('a node that keeps itself over its rate, never refused, is suspended by the over-rate rule', async () => {
  const m0 = await metrics();
  const told = hog.waitFor(isAccountMessage('suspended'), 20_000);
  const adminTold = admin.waitFor((s) => s.name === 'message' && /hog@grid\.test was suspended/.test(s.getChildText('body') ?? ''), 20_000);
  let suspendedAt = Infinity;
  void told.then(() => (suspendedAt = performance.now()), () => {});
  // 30 in flight all the time: each answer sends the next request, so the node waits for its
  // held answers (it is slowed to its rate and never refused) and stays over its rate.
  const before: Answer[] = [];
  const after: Answer[] = [];
  let sent = 0;
  const started = performance.now();
  const loop = async () => {
    while (suspendedAt === Infinity) {
      const i = sent++;
      const a = await hog.iq(items(), 15_000).then((r) => ({ i, at: performance.now(), ok: !!r.getChild('query', DISCO_ITEMS) }),
        (e: unknown) => ({ i, at: performance.now(), ok: false, error: describe(e) }));
      (a.at <= suspendedAt ? before : after).push(a);
    }
  };
  const loops = Promise.all(Array.from({ length: 30 }, loop));
  // The other node meanwhile: answered promptly.
  const victimMs: number[] = [];
  while (suspendedAt === Infinity && victimMs.length < 200) {
    const t = performance.now();
    assert.ok((await victim.iq(items())).getChild('query', DISCO_ITEMS));
    victimMs.push(performance.now() - t);
    await delay(100); // pacing the other node's own traffic, not waiting for an event
  }
  const m = await told;
  await loops;
  const toSuspension = suspendedAt - started;
  console.log(`over-rate: suspended ${Math.round(toSuspension)} ms after the first request, after ${before.length} answers (${sent} sent); ` +
    `${after.length} answered after the suspension (${after.filter((a) => a.ok).length} results, errors: ${[...new Set(after.map((a) => a.error).filter(Boolean))].join(', ') || 'none'}); ` +
    `victim max ${Math.max(...victimMs).toFixed(1)} ms over ${victimMs.length} requests`);

  assert.deepEqual(before.filter((a) => !a.ok).map((a) => a.error), [], 'never refused before the suspension');
  // Answered at its rate: the burst, then RATE a second.
  assert.ok(before.length <= BURST + (toSuspension / 1000) * RATE + 5, `${before.length} answers in ${Math.round(toSuspension)} ms`);
  // It has to be over its rate for over_rate_s before the rule can fire.
  assert.ok(toSuspension >= OVER_RATE_S * 1000 - SLACK_MS, `suspended after ${Math.round(toSuspension)} ms`);
  assert.ok(toSuspension < WITHIN_S * 1000 + 6000, `suspended after ${Math.round(toSuspension)} ms`);
  assert.ok(victimMs.length >= 1);
  for (const ms of victimMs) assert.ok(ms < 1000, `the other node waited ${ms.toFixed(0)} ms`);

  // Its requests still held when it was suspended are not worked on: they get the gate's
  // answer when their turn comes (a request already being worked on may still be answered).
  assert.deepEqual([...new Set(after.filter((a) => !a.ok).map((a) => a.error))], ['auth forbidden account-suspended'], 'the held ones after the suspension');
  assert.ok(after.filter((a) => !a.ok).length >= 10, `${after.length} answered after the suspension`);
  assert.deepEqual(m.getChild('account', NS_GRID)!.getChildren('group').map((g) => g.getText()), ['soc'], 'the groups are kept');
  const body = (await adminTold).getChildText('body')!;
  assert.match(body, new RegExp(`over its rate limits \\(requests held or refused\\) for [${OVER_RATE_S}-${WITHIN_S}] of the last ${WITHIN_S} s \\(refused lately: none\\)`), body);
  assert.match(body, /grid-controller accounts unsuspend hog@grid\.test/);
  const e = await refusal(hog.iq(items()));
  assert.deepEqual([e.type, e.condition, e.appCondition?.name], ['auth', 'forbidden', 'account-suspended']);
  assert.equal(grid.controller!.accounts.get('hog@grid.test')?.status, 'suspended');
  assert.ok((await victim.iq(items())).getChild('query', DISCO_ITEMS), 'the other node is not affected');
  assert.equal(grid.controller!.accounts.get('victim@grid.test')?.status, 'approved');
  const m1 = await metrics();
  assert.equal(m1.get('grid_rate_limit_suspensions_total'), 1);
  assert.equal(m1.get('grid_accounts{state="suspended"}'), 1);
  assert.equal(refusedTotal(m1) - refusedTotal(m0), 0, 'no refusal counted: rule (a) had nothing to count');
  assert.ok((m1.get('grid_requests_delayed_total') ?? 0) - (m0.get('grid_requests_delayed_total') ?? 0) >= 30, 'it was held');
});

test('an administrator lifts the over-rate suspension with XEP-0050; the node is approved again', async () => {
  const approved = hog.waitFor(isAccountMessage('approved'), 20_000);
  assert.match(await runJidCommand(admin, 'unsuspend', 'hog@grid.test'), /unsuspended hog@grid\.test: approved; groups: soc/);
  await approved;
  assert.equal(grid.controller!.accounts.get('hog@grid.test')?.status, 'approved');
  // A clean record: full buckets, nothing held.
  const again = await burst(hog, BURST);
  assert.deepEqual(again.answers.filter((a) => !a.ok), []);
  assert.equal(again.answers.length, BURST);
});

test('an honest node whose bursts are held now and then is never suspended', async () => {
  const m0 = await metrics();
  const ROUNDS = 5;
  const EVERY_MS = 2500;
  const start = performance.now();
  const lastAnswers: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Its own schedule: a burst of twice its burst size every EVERY_MS.
    const wait = start + r * EVERY_MS - performance.now();
    if (wait > 0) await delay(wait);
    const { sent, answers } = await burst(honest, 2 * BURST);
    assert.deepEqual(answers.filter((a) => !a.ok).map((a) => a.error), [], `round ${r}: none refused`);
    assert.equal(answers.length, 2 * BURST);
    const last = Math.max(...answers.map((a) => a.at)) - sent;
    lastAnswers.push(Math.round(last));
    // Held: the second half waited for its tokens.
    assert.ok(last >= (BURST / RATE) * 1000 - SLACK_MS, `round ${r}: the last answer ${Math.round(last)} ms after the send`);
  }
  const took = performance.now() - start;
  console.log(`honest: ${ROUNDS} bursts of ${2 * BURST} in ${Math.round(took)} ms, last answers ${lastAnswers.join(' ')} ms after each send`);
  assert.ok(took > WITHIN_S * 1000, 'longer than the window');
  const m1 = await metrics();
  assert.ok((m1.get('grid_requests_delayed_total') ?? 0) - (m0.get('grid_requests_delayed_total') ?? 0) >= ROUNDS * (BURST - 5), 'held every round');
  assert.equal(refusedTotal(m1) - refusedTotal(m0), 0, 'never refused');
  assert.equal(m1.get('grid_rate_limit_suspensions_total'), m0.get('grid_rate_limit_suspensions_total'), 'no suspension');
  assert.equal(grid.controller!.accounts.get('honest@grid.test')?.status, 'approved');
  assert.deepEqual(honestSuspended, [], 'the honest node was never told it is suspended');
});
