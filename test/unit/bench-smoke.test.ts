// The benchmark's arithmetic: latency buckets, percentiles, rates, the W2 bundles. The bench
// itself (Prosody, controller, 100 connections) is never run from the tests.
import { test } from 'node:test';
import { ATTACK_ICS_FILE } from '../../src/devgrid/data-files.js';
import assert from 'node:assert/strict';
import { BUCKETS, Histogram, bucketOf, bucketUpperMs, percentileOf, perSecond, ratio } from '../../bench/stats.js';
import { figures } from '../../bench/fleet.js';
import { FILTER_GROUPS, icsBundles, indicatorJson } from '../../bench/payloads.js';
import { goalLines, withServerSuffix } from '../../bench/goals.js';
import { buildTable } from '../../bench/table.js';

test('a latency lands in a bucket whose upper edge is at most ~1 % (or 10 µs) above it', () => {
  for (const ms of [0.004, 0.5, 9.999, 10, 42.42, 99.95, 100, 512.3, 999.9, 1000, 12_345, 59_999, 61_234, 599_000]) {
    const up = bucketUpperMs(bucketOf(ms));
    assert.ok(up > ms, `${ms} → ${up}`);
    assert.ok(up - ms <= Math.max(0.0101, ms * 0.0101), `${ms} → ${up}`);
  }
  assert.equal(bucketOf(-1), 0);
  assert.equal(bucketOf(1_200_000), BUCKETS - 1);
  assert.equal(bucketUpperMs(BUCKETS - 1), Infinity);
});

test('percentiles of a histogram match the exact ones within a bucket', () => {
  const h = new Histogram();
  const samples = Array.from({ length: 10_000 }, (_, i) => (i + 1) / 10); // 0.1 … 1000 ms
  for (const s of samples) h.record(s);
  for (const p of [50, 95, 99, 100]) {
    const exact = percentileOf(samples, p)!;
    const got = h.percentile(p)!;
    assert.ok(got >= exact && got <= exact * 1.011 + 0.011, `p${p}: ${got} vs ${exact}`);
  }
  assert.equal(new Histogram().percentile(50), undefined);
});

test('histograms survive IPC (sparse form) and merge by adding counts', () => {
  const a = new Histogram();
  const b = new Histogram();
  [1, 2, 3].forEach((x) => a.record(x));
  [300, 400].forEach((x) => b.record(x));
  const merged = Histogram.fromSparse([...a.toSparse(), ...b.toSparse()]);
  assert.equal(merged.total, 5);
  assert.equal(merged.percentile(100), bucketUpperMs(bucketOf(400)));
  assert.equal(merged.percentile(20), bucketUpperMs(bucketOf(1)));
});

test('delivered/s is deliveries over first publish → last delivery, summed over workers', () => {
  const h1 = new Histogram();
  h1.record(5);
  const f = figures({
    pub: { t0: 1000, t1: 1500, errors: 0 }, complete: true,
    collected: [{ count: 300, bytes: 600_000, first: 1010, last: 2000, hist: h1.toSparse(), wire: 700_000, objects: 30, nodes: 3, expected: 300 },
      { count: 200, bytes: 400_000, first: 1020, last: 3000, hist: [], wire: 500_000, objects: 20, nodes: 2, expected: 200 }],
  }, 500);
  assert.equal(f.deliveries, 500);
  assert.equal(f.seconds, 2);
  assert.equal(f.delivered_per_s, 250);
  assert.equal(f.payload_mb_per_s, 0.5, '1 MB of payload over 2 s');
  assert.equal(f.mean_payload_bytes, 2000);
  assert.equal(f.publish_s, 0.5);
  assert.equal(f.hist.total, 1);
  assert.equal(f.wire_bytes, 1_200_000, 'stream bytes summed over workers');
  assert.equal(f.objects, 50);
  assert.equal(f.nodes, 5);
  assert.equal(perSecond(10, 0), 0);
  assert.equal(ratio(3, 0), undefined);
  assert.equal(ratio(1, 4), 0.25);
});

test('payloads: ~1.2 KB indicators, ten filter groups', () => {
  const len = Buffer.byteLength(indicatorJson(123));
  assert.ok(len > 1000 && len < 1400, `indicator is ${len} bytes`);
  assert.notEqual(JSON.parse(indicatorJson(1)).id, JSON.parse(indicatorJson(2)).id);
  assert.equal(FILTER_GROUPS.length, 10);
});

const ICS = ATTACK_ICS_FILE;
test('ATT&CK for ICS bundles stay well under the 256 KiB stanza limit and keep every object once', () => {
  const bundles = icsBundles(ICS, 30).map((b) => JSON.parse(b) as { type: string; objects: { id: string }[] });
  const ids = bundles.flatMap((b) => b.objects.map((o) => o.id));
  assert.equal(new Set(ids).size, ids.length);
  for (const b of bundles) {
    assert.equal(b.type, 'bundle');
    assert.ok(JSON.stringify(b).length < 200_000);
  }
});

test('the table names every workload that ran and flags an incomplete one', () => {
  const m = (n: number, complete = true) => ({ delivered_per_s: n, deliveries: n, expected: n, complete, p50_ms: 1, p95_ms: 2, p99_ms: 3 });
  const out = buildTable({ meta: { cpus: 2, node: 'v20', prosody: '0.12.3', subscribers: 100, window: 50 },
    w0: m(5000), w1: { controller: m(2000, false), mod_pubsub: m(500), ratio: 4 },
    w2: { controller: { ...m(300), seconds: 1.5, wire_bytes_per_subscriber: 1000 }, mod_pubsub_client_filtering: { ...m(3000), seconds: 4, wire_bytes_per_subscriber: 9000 } },
    steady: { ...m(100), rate_per_s: 5, max_ms: 9 } });
  for (const s of ['W0 client→client', 'W1 controller fan-out', 'W1 mod_pubsub (persist_items)', 'W2 controller (cut per filter)', 'W2 mod_pubsub + client filter', 'INCOMPLETE', '1.5 s, 1,000 B/subscriber', 'steady (50 % of W0)']) {
    assert.ok(out.includes(s), `missing "${s}" in\n${out}`);
  }
});

test('the goals: both servers in one results file, each figure with its target', () => {
  const prosody = { meta: { date: '2026-12-02T15:00:00Z', quick: true }, w1: { ratio_vs_memory: 1.4, ratio: 4 }, steady: { p99_ms: 20 } };
  const ejabberd = { meta: { date: '2026-12-02T15:10:00Z', quick: true }, w1: { ratio_vs_memory: 0.9 }, steady: { p99_ms: 70 }, w3: { rss_mb: 1 } };
  const both = withServerSuffix(withServerSuffix({}, prosody, 'prosody'), ejabberd, 'ejabberd') as Record<string, Record<string, number>>;
  assert.equal(both.w1.ratio_vs_memory, 1.4, 'the Prosody run is kept');
  assert.equal(both.w1_ejabberd.ratio_vs_memory, 0.9);
  assert.equal(both.steady_ejabberd.p99_ms, 70);
  assert.equal(both.w3.rss_mb, 1, 'server-independent figures are not suffixed');
  const text = goalLines(both);
  for (const s of ['w1.ratio_vs_memory 1.4', 'target ≥ 1.0: met', 'w1_ejabberd.ratio_vs_memory 0.9', 'target ≥ 1.0: NOT met', 'steady_ejabberd.p99_ms 70', 'target p99 ≤ 50 ms: NOT met', 'steady.p99_ms 20']) {
    assert.ok(text.includes(s), `missing "${s}" in\n${text}`);
  }
});
