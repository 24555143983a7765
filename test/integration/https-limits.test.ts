// Rate limits on the HTTPS door (issue 16, README "Rate limits"): the real HTTPS server of a
// real controller. An account over its rate gets 429 Too Many Requests with Retry-After and a
// TAXII error message while another account is answered; the refusals are the limiter's
// (the same metrics as XMPP's); requests whose credentials fail are limited per source
// address, and do not touch the buckets of an account asking from the same address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTaxiiGrid, type TaxiiGrid } from '../helpers/taxii-fixture.js';
import { scrape } from '../helpers/metrics.js';
import { ADDRESS_RATE_LIMITS } from '../../src/limits/index.js';

const MEDIA = 'application/taxii+json;version=2.1';
let g: TaxiiGrid;

before(async () => {
  g = await startTaxiiGrid({
    basic: true,
    env: { GRID_METRICS_LISTEN: '127.0.0.1:0' },
    extraPolicy: 'limits:\n  defaults: { iq_per_s: 5, iq_burst: 5, delay_ms: 0 }\n  suspend: off\n# end\n',
  });
});
after(() => g?.close());

const metrics = () => scrape(g.grid.controller!.ops.metricsUrl);

function assertTooMany(r: { status: number; headers: Record<string, unknown>; json(): { title: string; description: string; http_status: string } }, who: RegExp): void {
  assert.equal(r.status, 429);
  assert.equal(r.headers['content-type'], MEDIA);
  const retry = Number(r.headers['retry-after']);
  assert.ok(Number.isInteger(retry) && retry >= 1, `Retry-After ${String(r.headers['retry-after'])}`);
  const body = r.json();
  assert.equal(body.title, 'Too Many Requests');
  assert.equal(body.http_status, '429');
  assert.match(body.description, who);
}

test('an account over its rate gets 429 + Retry-After + a TAXII error; another account is answered; counted like XMPP refusals', async () => {
  // The bucket refills with time alone (no event to wait for): soc1's requests while the grid
  // was set up may have taken tokens that take up to iq_burst / iq_per_s = 1 s to come back,
  // and the burst below must start from a full bucket (it failed with 4 of 5 on a loaded run).
  await new Promise((r) => setTimeout(r, 1000));
  const m0 = await metrics();
  const soc1 = g.as('soc1');
  const answers = await Promise.all(Array.from({ length: 12 }, () => soc1('/taxii2/')));
  const ok = answers.filter((r) => r.status === 200).length;
  const refused = answers.filter((r) => r.status === 429);
  assert.ok(ok >= 5 && ok < 12, `the burst of 5 passes, not all 12 (${ok} answered)`);
  assert.equal(ok + refused.length, 12, answers.map((r) => r.status).join(','));
  for (const r of refused) assertTooMany(r, /rate limit for soc1@grid\.test: at most 5 requests a second \(burst 5\); retry in \d+ ms/);
  assert.equal((await g.as('partner1')('/taxii2/')).status, 200, 'another account has its own buckets');
  const m1 = await metrics();
  assert.equal(m1.get('grid_requests_refused_total{limit="iq"}')! - (m0.get('grid_requests_refused_total{limit="iq"}') ?? 0), refused.length);
});

test('bad tokens are limited per source address: 401 up to the address burst, then 429; a certificate from the same address is still answered', async () => {
  const burst = ADDRESS_RATE_LIMITS.iq_burst;
  const bad = { user: 'soc1@grid.test', password: 'not-the-token' };
  const answers = await Promise.all(Array.from({ length: burst + 20 }, () => g.anon('/taxii2/', { basic: bad })));
  const unauthorized = answers.filter((r) => r.status === 401).length;
  const refused = answers.filter((r) => r.status === 429);
  assert.equal(unauthorized + refused.length, burst + 20, answers.map((r) => r.status).join(','));
  assert.ok(unauthorized >= burst && unauthorized < burst + 20, `${unauthorized} answered 401`);
  for (const r of refused) assertTooMany(r, /rate limit for address:127\.0\.0\.1: at most 10 requests a second \(burst 50\)/);
  assert.equal((await g.as('partner1')('/taxii2/')).status, 200, 'an account from the same address keeps its own buckets');
});
