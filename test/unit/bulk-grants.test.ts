// §9 bulk grants: single use, 5 minutes, `bulk` checked, unavailable without the HTTPS door.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BulkGrants, BULK_TTL_MS } from '../../src/topics/bulk.js';
import { silentLogger } from '../../src/log.js';
import type { TopicService } from '../../src/topics/service.js';

const topic = { name: 't/a', contentType: 'application/stix+json;version=2.1', filterFields: {} };
const topics = {
  limits: { filter: { values: 256, bytes: 16384 } },
  check: (_s: unknown, op: string, node: string) => (node === 't/a' && op === 'bulk' ? { topic, node, subtopic: false, decision: { effect: 'permit' } } : { fail: 'forbidden' }),
} as unknown as TopicService;
const subject = { jid: 'soc1@grid.test', groups: ['soc'], cert: { subject: {}, issuer: {} } };

test('bulk grants: single use, expire after 5 minutes, need bulk and the HTTPS door', () => {
  let now = 1_000_000;
  const g = new BulkGrants(topics, silentLogger(), () => now);
  const off = g.grant(subject, 't/a', {});
  assert.ok('fail' in off && off.fail === 'feature-not-implemented');
  g.urlOf = (t) => `https://x/grid/bulk/${t}`;
  assert.ok('fail' in g.grant(subject, 't/b', {}), 'bulk not permitted');
  assert.ok('fail' in g.grant(subject, 't/a', { filter: { tlp: ['purple'] } }), 'a malformed filter is refused at grant time');
  const r = g.grant(subject, 't/a', { filter: { type: ['indicator'] } });
  assert.ok('ok' in r);
  const token = r.value.url.split('/').pop()!;
  assert.equal(r.value.expires, new Date(now + BULK_TTL_MS).toISOString());
  assert.equal(g.take(token)?.topic, 't/a');
  assert.equal(g.take(token), undefined, 'single use');
  const late = g.grant(subject, 't/a', {});
  assert.ok('ok' in late);
  now += BULK_TTL_MS;
  assert.equal(g.take(late.value.url.split('/').pop()!), undefined, 'expired');
});
