// pubsub#item_expire (topics/retention.ts) over the real files item store: an expired item is
// hidden from every read the moment it expires, the sweep deletes it, seqs are never reused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Writable } from 'node:stream';
import { openItemStore } from '../../src/store/items.js';
import { RetentionView, RetentionSweep, expireOfTopics } from '../../src/topics/retention.js';
import type { Topic } from '../../src/topics/types.js';
import type { NewItem } from '../../src/store/types.js';
import { parsePolicyText } from '../../src/policy/index.js';
import { parseNodeConfig, nodeConfigForm } from '../../src/xmpp/handlers/pubsub-owner.js';
import { isFail } from '../../src/result.js';

const T0 = Date.parse('2026-05-01T00:00:00Z');
const topic = (name: string, itemExpire?: number): Topic => ({
  name, contentType: 'application/stix+json;version=2.1', filtering: 'publisher', filterFields: {}, maxItems: 1000, notificationType: 'normal',
  source: 'create', publishers: [], createdAt: '2026-01-01T00:00:00Z', ...(itemExpire !== undefined ? { itemExpire } : {}),
});
const at = (id: string, secs: number): NewItem => ({ id, publisher: 'p@grid.test', payload: `{"id":"${id}"}`, published: new Date(T0 + secs * 1000).toISOString().replace('Z', '123Z') });

async function fixture() {
  const dir = await mkdtemp(join(tmpdir(), 'retention-'));
  const store = await openItemStore(dir);
  const topics = new Map<string, Topic>([['ti', topic('ti', 60)], ['keep', topic('keep')]]);
  let now = T0;
  const view = new RetentionView(store, expireOfTopics((n) => topics.get(n)), () => now);
  const lines: { audit?: string; items?: number; node?: string }[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk, _e, cb) { lines.push(JSON.parse(String(chunk))); cb(); } }));
  const sweep = new RetentionSweep({ items: view, topics: { allTopics: () => [...topics.values()], subtopics: (t) => (t === 'ti' ? [{ node: 'ti~0123456789abcdef' }] : []) }, log, now: () => now });
  return { dir, store, view, sweep, lines, setNow: (secs: number) => void (now = T0 + secs * 1000), close: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
}

test('an item older than item_expire is hidden from every read at once, and the sweep deletes it', async () => {
  const f = await fixture();
  try {
    for (const [id, s] of [['a', 0], ['b', 10], ['c', 30]] as const) await f.view.append('ti', at(id, s), 1000);
    await f.view.append('keep', at('k', 0), 1000);
    await f.view.append('ti~0123456789abcdef', at('sub', 5), 1000);
    f.setNow(50);
    assert.deepEqual(f.view.list('ti').map((i) => i.id), ['a', 'b', 'c'], 'nothing has expired yet');
    f.setNow(70.5); // a (0 s) and b (10 s) are older than 60 s; c (30 s) is not
    assert.deepEqual(f.view.list('ti').map((i) => i.id), ['c']);
    assert.deepEqual(f.view.after('ti', 0, 10).map((i) => i.id), ['c']);
    assert.deepEqual(f.view.latest('ti', 3).map((i) => i.id), ['c']);
    assert.equal(f.view.get('ti', 'a'), undefined);
    assert.equal(f.view.get('ti', 'c')?.seq, 3);
    assert.equal(f.view.oldestSeq('ti'), 3, 'a catch-up after_seq sees the gap (items gone)');
    assert.equal(f.view.highSeq('ti'), 3);
    assert.equal(await f.view.retract('ti', 'a'), false, 'an expired item is not there to retract');
    assert.deepEqual(f.view.list('ti~0123456789abcdef'), [], 'a subtopic node takes its topic\'s item_expire');
    assert.deepEqual(f.view.list('keep').map((i) => i.id), ['k'], 'a topic without item_expire keeps its items');
    assert.equal(f.store.list('ti').length, 3, 'hidden, not yet deleted');

    assert.equal(await f.sweep.run(), 3);
    assert.deepEqual(f.store.list('ti').map((i) => i.id), ['c']);
    assert.deepEqual(f.store.list('ti~0123456789abcdef'), []);
    assert.deepEqual(f.store.list('keep').map((i) => i.id), ['k']);
    assert.deepEqual(f.lines.filter((l) => l.audit === 'items-expired').map((l) => [l.node, l.items]), [['ti', 2], ['ti~0123456789abcdef', 1]]);
    assert.equal(await f.sweep.run(), 0, 'a second sweep finds nothing');
    assert.equal((await f.view.append('ti', at('d', 71), 1000)).seq, 4, 'seqs are never reused');
    f.setNow(1000);
    assert.deepEqual(f.view.list('ti'), []);
    assert.equal(f.view.oldestSeq('ti'), undefined);
  } finally {
    await f.close();
  }
});

test('item_expire is read from policy files and from the configure form, and shown in it', () => {
  const ok = parseNodeConfig(new Map([['pubsub#item_expire', ['86400']]]));
  assert.ok(!isFail(ok) && ok.value.itemExpire === 86400);
  const never = parseNodeConfig(new Map([['pubsub#item_expire', ['0']]]));
  assert.ok(!isFail(never) && never.value.itemExpire === 0);
  for (const bad of ['-1', '1.5', 'soon', '999999999']) {
    const r = parseNodeConfig(new Map([['pubsub#item_expire', [bad]]]));
    assert.ok(isFail(r) && r.fail === 'not-acceptable' && /pubsub#item_expire/.test(r.text ?? ''), bad);
  }
  const form = nodeConfigForm({ contentType: 'application/stix+json;version=2.1', filtering: 'controller', filterFields: {}, maxItems: 10, itemExpire: 3600, notificationType: 'normal' });
  assert.equal(form.getChildren('field').find((f) => f.attrs.var === 'pubsub#item_expire')?.getChildText('value'), '3600');
  const p = parsePolicyText('topics:\n  - { name: a, content_type: application/iodef+xml, item_expire: 604800 }\n  - { name: b, content_type: application/iodef+xml, item_expire: 0 }\n# end\n');
  assert.ok(p.ok, JSON.stringify(p));
  assert.deepEqual(p.policy.topics.map((t) => [t.name, t.itemExpire]), [['a', 604800], ['b', undefined]]);
});
