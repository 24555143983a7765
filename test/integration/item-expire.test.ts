// pubsub#item_expire on the running controller (issue 14 item 6, age-based retention): a topic
// declared with item_expire: 2 stops serving an item once it is 2 s old — the §7 query and
// XEP-0060 items retrieval no longer return it — before any sweep has run; the sweep then
// deletes it, audited; the next item continues the seq.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startDevGrid, SHIPPED_POLICIES, type DevGrid } from '../../src/devgrid/devgrid.js';
import { GridClient } from '../../src/agent/index.js';
import type { QueryItem } from '../../src/agent/grid-types.js';

const TOPIC = 'threat-intel/ephemeral';
let grid: DevGrid;
const clients: GridClient[] = [];

before(async () => {
  const policies = mkdtempSync(join(tmpdir(), 'expire-policies-'));
  cpSync(SHIPPED_POLICIES, policies, { recursive: true });
  writeFileSync(join(policies, '50-ephemeral.yaml'), `topics:\n  - name: ${TOPIC}\n    content_type: application/stix+json;version=2.1\n    item_expire: 2\n# end\n`);
  grid = await startDevGrid({ nodes: [{ name: 'soc1', OU: 'soc' }, { name: 'sandbox1', OU: 'malware-lab' }], policiesDir: policies });
});

after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await grid?.stop();
});

async function client(name: string): Promise<GridClient> {
  const n = grid.pki.nodes[name]!;
  const c = await GridClient.connect({ service: `xmpps://127.0.0.1:${grid.server.ports.c2sTls}`, domain: 'grid.test', certFile: n.cert, keyFile: n.key, ca: readFileSync(grid.pki.ca.cert, 'utf8') });
  clients.push(c);
  return c;
}

async function stored(c: GridClient): Promise<QueryItem[]> {
  const out: QueryItem[] = [];
  for await (const page of c.query(TOPIC)) out.push(...page.items);
  return out;
}

const T = '2024-05-01T00:00:00.000Z';
const indicator = (k: number) => ({ type: 'indicator', spec_version: '2.1', id: `indicator--00000000-0000-4000-8000-${String(k).padStart(12, '0')}`, created: T, modified: T,
  pattern: `[ipv4-addr:value = '198.51.100.${k}']`, pattern_type: 'stix', valid_from: T });

test('an item older than its topic\'s item_expire is not served, then swept; seqs go on', { timeout: 120_000 }, async () => {
  const soc = await client('soc1');
  if ((await soc.register()).status !== 'approved') assert.equal((await soc.waitForApproval(20_000)).status, 'approved');
  const pub = await client('sandbox1');
  assert.equal((await pub.register({ groups: ['providers'], deviceType: 'sandbox' })).status, 'approved');
  assert.equal(grid.controller!.topics.topic(TOPIC)?.itemExpire, 2);

  await pub.publish(TOPIC, indicator(1), { id: 'old' });
  const [old] = await stored(soc);
  assert.equal(old?.id, 'old');
  // The condition under test is the item's age: wait until the clock has passed it.
  const expiresAt = Date.parse(old!.published!) + 2000;
  await delay(Math.max(0, expiresAt - Date.now() + 50));

  assert.deepEqual(await stored(soc), [], 'not served once expired, before any sweep');
  await pub.publish(TOPIC, indicator(2), { id: 'new' });
  const now = await stored(soc);
  assert.deepEqual(now.map((i) => [i.id, i.seq]), [['new', old!.seq + 1]], 'the next item continues the seq');

  assert.equal(await grid.controller!.retention.run(), 1, 'the sweep deletes the expired item');
  const audited = grid.controller!.ops.audit.recent().filter((e) => e.event === 'items-expired');
  assert.deepEqual(audited.map((e) => [e.fields.topic, e.fields.items]), [[TOPIC, 1]]);
  assert.deepEqual((await stored(soc)).map((i) => i.id), ['new']);
});
