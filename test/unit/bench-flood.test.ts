// The bench's flood line (bench/flood.ts, bench/table.ts): the figures the issue asks for are
// printed with their targets, and a failed target says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTable } from '../../bench/table.js';

const meta = { cpus: 2, node: 'v20', prosody: '0.12.3', subscribers: 50, window: 50 };
const victim = (p99: number) => ({ p99_ms: p99, requests: 300, errors: 0, disco_info_p99_ms: p99, publish_p99_ms: p99 });

test('the flood line prints the victim ratio and whether the RSS recovered', () => {
  const flood = (ratio: number, recovered: boolean) => ({
    seconds: 8, window: 100, settle_s: 15, victim_alone: victim(4), victim_during: victim(4 * ratio), victim_p99_ratio: ratio,
    flooder: { sent: 20_000, answered: 9000, seconds: 8, per_s: 2500, refused: { 'wait policy-violation': 11_000 } },
    rss_before_mb: 80, rss_during_mb: 95, rss_after_mb: recovered ? 82 : 120, rss_recovered: recovered, cpu_s_during: {},
  });
  const good = buildTable({ meta, flood: flood(1.5, true) });
  for (const s of ['Flood: one node 2,500 requests/s', 'wait policy-violation 11,000', 'ratio 1.5 (target ≤ 2)', 'recovered yes']) {
    assert.ok(good.includes(s), `missing "${s}" in\n${good}`);
  }
  assert.ok(buildTable({ meta, flood: flood(30, false) }).includes('recovered NO'));
  assert.ok(!buildTable({ meta }).includes('Flood:'), 'no flood run, no line');
});
