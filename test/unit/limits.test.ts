// Per-account rate limits without XMPP (src/limits): token buckets on an injected clock, the
// account's limits from its groups, one log line per account per interval, suspension on
// sustained refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { TokenBucket, RateLimiter, OverRate, limitsFor, DEFAULT_LIMITS_POLICY, LOG_INTERVAL_MS, type LimitsPolicy, type RateLimits, type AbuseSummary, type RequestCost } from '../../src/limits/index.js';
import type { Fail } from '../../src/result.js';

/** With delay_ms 0 (these policies) admit never holds: null or a refusal. */
const adm = (l: RateLimiter, bare: string, cost: RequestCost): Fail | null => l.admit(bare, cost) as Fail | null;

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk, _e, cb) { lines.push(JSON.parse(String(chunk))); cb(); } }));
  return { log, lines: () => lines.filter((l) => l.audit === 'rate-limit') };
}
const flushLogs = () => new Promise((r) => setImmediate(r));

test('a token bucket gives its burst at once, then its rate; a refused take costs nothing', () => {
  const c = clock();
  const b = new TokenBucket(10, 20, c.now);
  for (let i = 0; i < 20; i++) assert.equal(b.take(), true, `token ${i}`);
  assert.equal(b.take(), false);
  assert.equal(b.waitMs(), 100, '10 per second: the next token in 100 ms');
  c.advance(99);
  assert.equal(b.take(), false);
  c.advance(1);
  assert.equal(b.take(), true);
  c.advance(60_000);
  assert.equal(b.full(), true, 'refills up to the capacity, not beyond');
  assert.equal(b.take(21), false, 'more than the capacity never passes');
  assert.equal(b.waitMs(21), Infinity);
  b.configure(10, 5);
  assert.equal(b.take(5), true, 'a smaller capacity keeps only what fits');
  assert.equal(b.take(1), false);
});

const POLICY: LimitsPolicy = {
  defaults: { ...DEFAULT_LIMITS_POLICY.defaults, delay_ms: 0, iq_per_s: 10, iq_burst: 10, publish_per_s: 2, publish_burst: 2, payload_bytes_per_s: 1000, payload_burst_bytes: 1000 },
  groups: { providers: { publish_per_s: 50, publish_burst: 100 }, soc: { publish_per_s: 5, iq_per_s: 500 } },
  suspend: { violations: 20, within_s: 10, over_rate_s: 9 },
};

test('an account gets, per key, the highest value its groups set, else the default; the result is memoised', () => {
  const both = limitsFor(POLICY, ['soc', 'providers']);
  assert.equal(both.publish_per_s, 50);
  assert.equal(both.publish_burst, 100);
  assert.equal(both.iq_per_s, 500);
  assert.equal(both.iq_burst, 10, 'no group sets it: the default');
  assert.equal(limitsFor(POLICY, ['providers', 'soc']), both, 'same groups, same object');
  assert.deepEqual(limitsFor(POLICY, ['unknown']), POLICY.defaults);
  assert.deepEqual(limitsFor(POLICY, []), POLICY.defaults);
});

function limiter(policy = POLICY, groups: Record<string, string[]> = {}) {
  const c = clock();
  const cap = capture();
  const abuse: [string, AbuseSummary][] = [];
  const l = new RateLimiter({ log: cap.log, now: c.now, onAbuse: (j, s) => abuse.push([j, s]), limitsOf: (b) => ({ limits: limitsFor(policy, groups[b] ?? []), suspend: policy.suspend }) });
  return { l, c, cap, abuse };
}

test('IQs beyond the rate are refused with a text naming the limit; other accounts are not touched', () => {
  const { l, c } = limiter();
  const iq = { publish: false, payloadBytes: 0 };
  for (let i = 0; i < 10; i++) assert.equal(adm(l, 'a@x', iq), null);
  const r = adm(l, 'a@x', iq);
  assert.equal(r?.fail, 'rate-limited');
  assert.match(r!.text!, /at most 10 requests a second \(burst 10\); retry in 100 ms/);
  assert.equal(adm(l, 'b@x', iq), null, 'another account has its own buckets');
  c.advance(100);
  assert.equal(adm(l, 'a@x', iq), null);
  assert.equal(l.counters.rate_limited, 1);
});

test('publishes and payload bytes have buckets of their own; a refused publish takes no IQ token', () => {
  const { l, c } = limiter();
  const pub = (n: number) => ({ publish: true, payloadBytes: n });
  assert.equal(adm(l, 'a@x', pub(600)), null);
  assert.equal(adm(l, 'a@x', pub(600))?.fail, 'rate-limited', '1200 bytes > the 1000-byte burst');
  assert.match(adm(l, 'a@x', pub(600))!.text!, /payload bytes/);
  assert.equal(adm(l, 'a@x', pub(100)), null);
  assert.match(adm(l, 'a@x', pub(1))!.text!, /at most 2 publishes a second/);
  // 2 IQ tokens used by the admitted publishes, 8 left: refusals cost none.
  for (let i = 0; i < 8; i++) assert.equal(adm(l, 'a@x', { publish: false, payloadBytes: 0 }), null, `iq ${i}`);
  assert.equal(adm(l, 'a@x', { publish: false, payloadBytes: 0 })?.fail, 'rate-limited');
  c.advance(1000);
  assert.equal(adm(l, 'a@x', pub(900)), null);
});

test('a group raises its members\' limits', () => {
  const { l } = limiter(POLICY, { 'p@x': ['providers'] });
  for (let i = 0; i < 10; i++) assert.equal(adm(l, 'p@x', { publish: true, payloadBytes: 10 }), null, `publish ${i}`);
  assert.equal(adm(l, 'q@x', { publish: true, payloadBytes: 10 }), null);
  assert.equal(adm(l, 'q@x', { publish: true, payloadBytes: 10 }), null);
  assert.equal(adm(l, 'q@x', { publish: true, payloadBytes: 10 })?.fail, 'rate-limited');
});

test('refusals are logged once per account per interval, with their count', async () => {
  const { l, c, cap } = limiter({ ...POLICY, suspend: null });
  const iq = { publish: false, payloadBytes: 0 };
  for (let i = 0; i < 500; i++) adm(l, 'a@x', iq);
  adm(l, 'b@x', { publish: true, payloadBytes: 5000 });
  await flushLogs();
  assert.deepEqual(cap.lines().map((x) => [x.jid, x.refused]), [['a@x', 1], ['b@x', 1]], 'the first refusal is told at once');
  l.sweep();
  c.advance(LOG_INTERVAL_MS - 1);
  for (let i = 0; i < 10; i++) adm(l, 'a@x', iq);
  l.sweep();
  await flushLogs();
  assert.equal(cap.lines().length, 2, 'nothing more within the interval');
  c.advance(1);
  l.sweep();
  await flushLogs();
  const last = cap.lines().at(-1)!;
  // 490 refused at first (one told at once), then 10 admitted: the bucket had refilled.
  assert.deepEqual([last.jid, last.refused, last.by, last.since_s], ['a@x', 489, { iq: 489 }, 10]);
  assert.equal(l.counters.rate_limited, 491);
});

test('sustained refusals are reported once as abuse; a short burst of them is not', () => {
  const { l, c, abuse } = limiter();
  const iq = { publish: false, payloadBytes: 0 };
  for (let i = 0; i < 10 + 15; i++) adm(l, 'a@x', iq); // 15 refusals: below the 20 of the rule
  assert.equal(abuse.length, 0);
  c.advance(10_000); // the abuse bucket drains (20 per 10 s) and the IQ bucket refills
  for (let i = 0; i < 10 + 20; i++) adm(l, 'a@x', iq);
  assert.equal(abuse.length, 0, 'exactly the rule: not beyond it');
  adm(l, 'a@x', iq);
  assert.deepEqual(abuse.map(([j, s]) => [j, s.refused, s.within_s]), [['a@x', 20, 10]]);
  for (let i = 0; i < 100; i++) adm(l, 'a@x', iq);
  assert.equal(abuse.length, 1, 'reported once');
  assert.equal(l.counters.suspensions, 1);
  l.forget('a@x');
  for (let i = 0; i < 10; i++) assert.equal(adm(l, 'a@x', iq), null, 'forgotten: full buckets again');
});

test('a queue-full refusal is counted and counts towards abuse', () => {
  const { l, abuse } = limiter();
  for (let i = 0; i < 21; i++) assert.equal(l.queueFull('a@x').fail, 'queue-full');
  assert.equal(l.counters.queue_full, 21);
  assert.equal(abuse.length, 1);
  assert.deepEqual(abuse[0]![1].by, { queue: 20 }, 'those since the last log line (the first was told at once)');
});

test('idle accounts are dropped by the sweep; a policy change applies to live buckets', () => {
  let policy: LimitsPolicy = POLICY;
  const c = clock();
  const l = new RateLimiter({ log: pino({ level: 'silent' }), now: c.now, onAbuse: () => {}, limitsOf: () => ({ limits: limitsFor(policy, []), suspend: policy.suspend }) });
  for (let i = 0; i < 10; i++) adm(l, `n${i}@x`, { publish: false, payloadBytes: 0 });
  assert.equal(l.size, 10);
  l.sweep();
  assert.equal(l.size, 10, 'their buckets have not refilled yet');
  c.advance(1000);
  l.sweep();
  assert.equal(l.size, 0);
  for (let i = 0; i < 10; i++) adm(l, 'a@x', { publish: false, payloadBytes: 0 });
  assert.equal(adm(l, 'a@x', { publish: false, payloadBytes: 0 })?.fail, 'rate-limited');
  const raised: RateLimits = { ...POLICY.defaults, iq_per_s: 1000, iq_burst: 1000 };
  policy = { ...POLICY, defaults: raised };
  assert.equal(adm(l, 'a@x', { publish: false, payloadBytes: 0 })?.fail, 'rate-limited', 'no tokens yet');
  c.advance(10);
  assert.equal(adm(l, 'a@x', { publish: false, payloadBytes: 0 }), null, 'the new rate refills 10 tokens in 10 ms');
});

test('delay_ms: a request over its rate is held until its tokens are there (borrowed in order), refused beyond the delay', () => {
  const policy: LimitsPolicy = { ...POLICY, defaults: { ...POLICY.defaults, delay_ms: 300 } };
  const { l, c } = limiter(policy);
  const iq = { publish: false, payloadBytes: 0 };
  for (let i = 0; i < 10; i++) assert.equal(l.admit('a@x', iq), null);
  assert.deepEqual([1, 2, 3].map(() => l.admit('a@x', iq)), [100, 200, 300], '10/s: each held 100 ms after the one before');
  const r = l.admit('a@x', iq) as Fail;
  assert.equal(r.fail, 'rate-limited', '400 ms away: over delay_ms');
  assert.match(r.text!, /retry in 400 ms/);
  assert.equal(l.admit('a@x', iq, { hold: false })?.valueOf && (l.admit('a@x', iq, { hold: false }) as Fail).fail, 'rate-limited', 'hold: false never holds');
  assert.deepEqual(l.counters, { delayed: 3, rate_limited: 3, queue_full: 0, suspensions: 0 });
  c.advance(300);
  assert.equal(l.admit('a@x', iq), 100, 'the debt is paid back by the refill');
  const b = new TokenBucket(10, 10, c.now);
  b.borrow(15);
  assert.equal(b.waitMs(1), 600);
});

test('OverRate: the time over the rate within the window, stretches merged, old seconds forgotten', () => {
  const o = new OverRate(10);
  const t0 = 1_000_000;
  assert.equal(o.overMs(t0), 0);
  o.mark(t0, 1500);
  assert.equal(o.overMs(t0 + 1000), 1000, 'the open stretch counts up to now');
  o.mark(t0 + 1000, 1000); // within the stretch: extends it to t0 + 2000
  assert.equal(o.overMs(t0 + 5000), 2000, 'overlapping marks count once');
  o.mark(t0 + 5000, 500);
  assert.equal(o.overMs(t0 + 6000), 2500);
  assert.equal(o.overMs(t0 + 11_000), 500, 'seconds older than the window are left out');
  assert.equal(o.overMs(t0 + 30_000), 0);
  o.mark(t0 + 30_000, Infinity);
  o.mark(t0 + 30_000, 0);
  assert.equal(o.overMs(t0 + 31_000), 0, 'no wait (or an endless one, a refusal that no wait cures) marks nothing');
});

const HOLDING: LimitsPolicy = { ...POLICY, defaults: { ...POLICY.defaults, delay_ms: 8000 }, suspend: { violations: 1_000_000, within_s: 10, over_rate_s: 9 } };

test('holding: a flooder that waits for its answers is never refused, yet is suspended once over its rate for over_rate_s of within_s', () => {
  const { l, c, abuse } = limiter(HOLDING);
  const iq = { publish: false, payloadBytes: 0 };
  // Demands 20/s at a rate of 10/s, each request sent when the one before was answered would
  // be: held ever longer, but within delay_ms all along (its debt grows 0.5 s per second).
  let held = 0;
  let t = 0;
  for (; t < 8500; t += 50) {
    const r = l.admit('flood@x', iq);
    assert.ok(!isFailLike(r), `never refused (at ${t} ms)`);
    if (typeof r === 'number') held++;
    c.advance(50);
  }
  assert.equal(l.counters.rate_limited, 0, 'no refusal: the violations rule alone would never fire');
  assert.ok(held > 100);
  assert.equal(abuse.length, 0, '8.5 s over its rate: not yet 9');
  for (; t < 12_000 && !abuse.length; t += 50) {
    l.admit('flood@x', iq);
    c.advance(50);
  }
  assert.equal(abuse.length, 1, 'suspended within the window');
  assert.ok(t >= 8500 && t <= 10_000, `after ~9 s over the rate (at ${t} ms)`);
  const [jid, s] = abuse[0]!;
  assert.deepEqual([jid, s.rule, s.within_s], ['flood@x', 'over_rate', 10]);
  assert.ok(s.over_rate_s! >= 9);
  for (let i = 0; i < 100; i++) { l.admit('flood@x', iq); c.advance(50); }
  assert.equal(abuse.length, 1, 'reported once');
});

test('holding: honest bursts (twice the burst every 5 s, below the rate on average) are held but never suspended', () => {
  const { l, c, abuse } = limiter(HOLDING);
  const iq = { publish: false, payloadBytes: 0 };
  let held = 0;
  for (let round = 0; round < 24; round++) { // two minutes
    for (let i = 0; i < 20; i++) if (typeof l.admit('honest@x', iq) === 'number') held++;
    c.advance(5000);
  }
  assert.equal(held, 24 * 10, 'each burst\'s second half is held (1 s of debt each time)');
  assert.equal(abuse.length, 0);
  assert.equal(l.counters.rate_limited, 0);
});

test('holding: a flooder that pauses now and then stays over its rate on the whole and is still suspended; an idle lane keeps its record until it is clean', () => {
  const { l, c, abuse } = limiter({ ...HOLDING, suspend: { violations: 1_000_000, within_s: 10, over_rate_s: 7 } });
  const iq = { publish: false, payloadBytes: 0 };
  for (let s = 0; s < 30 && !abuse.length; s++) {
    if (s % 4 === 3) { // one second of silence in four
      c.advance(1000);
      l.sweep();
      continue;
    }
    for (let i = 0; i < 20; i++) { l.admit('p@x', iq); c.advance(50); }
  }
  assert.equal(abuse.length, 1, 'the pauses do not wipe its record');
});

function isFailLike(r: unknown): boolean {
  return typeof r === 'object' && r !== null && 'fail' in r;
}
