// The router's limits, stanza in → stanza out (README "Rate limits"): a request over the
// account's rate gets wait + policy-violation before any handler runs; a full lane gets
// wait + resource-constraint; a suspended account gets forbidden + account-suspended.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { Router, requestCost } from '../../src/xmpp/router.js';
import { errorElement } from '../../src/xmpp/errors.js';
import { fail } from '../../src/result.js';
import { silentLogger } from '../../src/log.js';
import { FairQueue, RateLimiter, limitsFor, DEFAULT_LIMITS_POLICY, type LimitsPolicy } from '../../src/limits/index.js';

const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const NS_TEST = 'urn:example:work';
const policy: LimitsPolicy = { ...DEFAULT_LIMITS_POLICY, defaults: { ...DEFAULT_LIMITS_POLICY.defaults, iq_per_s: 5, iq_burst: 5, delay_ms: 0, inflight: 1, queue: 2 }, suspend: null };

function setup() {
  let t = 0;
  const router = new Router(silentLogger());
  const limiter = new RateLimiter({ log: silentLogger(), now: () => t, onAbuse: () => {}, limitsOf: () => ({ limits: limitsFor(policy, []), suspend: null }) });
  router.setLimits(limiter, new FairQueue({ total: 10, maxQueuedTotal: 100 }));
  let calls = 0;
  const holds: (() => void)[] = [];
  router.iq('get', NS_TEST, 'work', () => {
    calls++;
    return new Promise<true>((r) => holds.push(() => r(true)));
  });
  router.iq('get', NS_TEST, 'quick', () => {
    calls++;
    return true;
  });
  const send = (name: string, from = 'node1@grid.test/x') => {
    const st = xml('iq', { type: 'get', id: 'i', from, to: 'controller.grid.test' }, xml(name, { xmlns: NS_TEST }));
    return router.dispatchIq('get', st, st.getChildElements()[0]!);
  };
  return { router, limiter, send, calls: () => calls, release: () => holds.splice(0).forEach((h) => h()), advance: (ms: number) => (t += ms) };
}

function condition(r: Element | true): [string, string, string | undefined] {
  assert.ok(r !== true && r.name === 'error', 'expected an error');
  const el = r.getChildElements().find((c) => c.getNS() === STANZAS && c.name !== 'text')!;
  return [r.attrs.type, el.name, r.getChildText('text', STANZAS) ?? undefined];
}

test('over the rate: wait + policy-violation with the limit in the text, and the handler never runs', async () => {
  const { send, calls, advance } = setup();
  for (let i = 0; i < 5; i++) assert.equal(await send('quick'), true);
  const [type, cond, text] = condition(await send('quick'));
  assert.deepEqual([type, cond], ['wait', 'policy-violation']);
  assert.match(text!, /rate limit for node1@grid\.test: at most 5 requests a second \(burst 5\); retry in 200 ms/);
  assert.equal(calls(), 5);
  assert.equal(await send('quick', 'node2@grid.test/y'), true, 'another account is not limited by it');
  advance(200);
  assert.equal(await send('quick'), true);
});

test('a full lane: wait + resource-constraint; another account still runs at once', async () => {
  const { send, calls, release } = setup();
  const first = send('work'); // in flight (inflight 1)
  const queued = [send('work'), send('work')]; // the lane's queue of 2
  assert.deepEqual(condition(await send('work')).slice(0, 2), ['wait', 'resource-constraint']);
  assert.equal(await send('quick', 'node2@grid.test/y'), true);
  assert.equal(calls(), 2, 'one of node1 and node2\'s');
  release();
  assert.equal(await first, true);
  while (calls() < 4) {
    await new Promise((r) => setImmediate(r));
    release();
  }
  assert.deepEqual(await Promise.all(queued), [true, true]);
});

test('the suspended and rate-limit conditions on the wire', () => {
  const s = errorElement(fail('account-suspended', 'why'));
  assert.equal(s.toString(), "<error type=\"auth\"><forbidden xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/><text xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\">why</text><account-suspended xmlns=\"urn:xmpp-grid:0\"/></error>");
  assert.equal(errorElement(fail('rate-limited')).toString(), '<error type="wait"><policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>');
  assert.equal(errorElement(fail('queue-full')).toString(), '<error type="wait"><resource-constraint xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>');
});

test('a publish costs its payload bytes; other IQs cost none', () => {
  const payload = xml('json', { xmlns: 'urn:xmpp:json:0' }, '{"é":1}');
  const pub = xml('pubsub', { xmlns: 'http://jabber.org/protocol/pubsub' }, xml('publish', { node: 't' }, xml('item', {}, payload)));
  assert.deepEqual(requestCost('set', pub), { publish: true, payloadBytes: Buffer.byteLength(payload.toString()) });
  assert.deepEqual(requestCost('get', xml('pubsub', { xmlns: 'http://jabber.org/protocol/pubsub' }, xml('items', { node: 't' }))), { publish: false, payloadBytes: 0 });
});

test('messages (issue 16): the same bucket as IQs; over it an error message, wait + policy-violation, and no handler runs; errors are never limited', async () => {
  const { router, send, advance } = setup();
  const seen: string[] = [];
  router.onMessage((st) => { seen.push(st.attrs.id ?? ''); });
  const message = (id: string, type?: string, from = 'node1@grid.test/x') =>
    router.middleware({ stanza: xml('message', { id, from, to: 'controller.grid.test', ...(type ? { type } : {}) }, xml('body', {}, 'hi')) } as never, async () => undefined) as Promise<Element | undefined>;
  for (let i = 0; i < 4; i++) assert.equal(await message(`m${i}`), undefined);
  assert.equal(await send('quick'), true, 'the fifth request of the burst is an IQ');
  const refused = await message('m4');
  assert.ok(refused, 'an answer for the message over the rate');
  assert.deepEqual(refused.attrs, { type: 'error', to: 'node1@grid.test/x', from: 'controller.grid.test', id: 'm4' });
  const [type, cond, text] = condition(refused.getChild('error')!);
  assert.deepEqual([type, cond], ['wait', 'policy-violation']);
  assert.match(text!, /rate limit for node1@grid\.test: at most 5 requests a second/);
  const [iqType, iqCond] = condition(await send('quick'));
  assert.deepEqual([iqType, iqCond], ['wait', 'policy-violation'], 'messages took from the IQ bucket');
  // RFC 6120 §8.3.1: never an error for an error; the server's bounces come from the node's JID.
  assert.equal(await message('bounce', 'error'), undefined);
  assert.equal(await message('other', undefined, 'node2@grid.test/y'), undefined, 'another account is not limited by it');
  assert.deepEqual(seen, ['m0', 'm1', 'm2', 'm3', 'bounce', 'other']);
  advance(200);
  assert.equal(await message('m5'), undefined);
});

test('a request held or queued while its account is suspended gets the gate\'s answer when its turn comes, and no handler runs', async () => {
  const router = new Router(silentLogger());
  // 5 a second, burst 5, one in flight; the sixth request of a burst is held 200 ms for its token.
  const held: LimitsPolicy = { ...policy, defaults: { ...policy.defaults, delay_ms: 5000, queue: 10 } };
  const limiter = new RateLimiter({ log: silentLogger(), now: () => 0, onAbuse: () => {}, limitsOf: () => ({ limits: limitsFor(held, []), suspend: null }) });
  router.setLimits(limiter, new FairQueue({ total: 10, maxQueuedTotal: 100 }));
  let suspended = false;
  router.setGate(() => (suspended ? fail('account-suspended', 'suspended for abuse') : null));
  let calls = 0;
  const holds: (() => void)[] = [];
  router.iq('get', NS_TEST, 'work', () => {
    calls++;
    return new Promise<true>((r) => holds.push(() => r(true)));
  });
  const send = () => {
    const st = xml('iq', { type: 'get', id: 'i', from: 'node1@grid.test/x', to: 'controller.grid.test' }, xml('work', { xmlns: NS_TEST }));
    return router.dispatchIq('get', st, st.getChildElements()[0]!);
  };
  const first = send(); // worked on at once
  const queued = Array.from({ length: 4 }, send); // within the burst, waiting in the lane behind it
  const heldOne = send(); // over the rate: held for its token
  assert.equal(calls, 1);
  assert.equal(limiter.counters.delayed, 1, 'the sixth is held, not refused');
  suspended = true; // e.g. by the rule this very burst broke
  holds.splice(0).forEach((h) => h());
  assert.equal(await first, true, 'what was worked on already is answered');
  for (const r of [...(await Promise.all(queued)), await heldOne]) {
    assert.deepEqual(condition(r).slice(0, 2), ['auth', 'forbidden']);
    assert.ok((r as Element).getChild('account-suspended', 'urn:xmpp-grid:0'), 'account-suspended, not registration-required');
  }
  assert.equal(calls, 1, 'none of them was worked on');
});
