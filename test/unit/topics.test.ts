// The topic core without XMPP: subtopic lifecycle, denials, live re-check, delivery cuts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopicService, EMPTY_TOPICS } from '../../src/topics/service.js';
import { ItemService } from '../../src/topics/items.js';
import type { TopicEvent } from '../../src/topics/types.js';
import type { NewItem, StoredItem, ItemStore } from '../../src/store/types.js';
import type { Policy, PolicySubject } from '../../src/policy/types.js';
import { silentLogger } from '../../src/log.js';
import { memoryStore, policyOf, recordingTurns } from '../helpers/fakes.js';
import { xmlCodec } from '../../src/xmpp/xml-codec.js';

const POLICY = `
groups: { soc: SOC, partners: Partners, providers: Providers }
topics:
  - name: threat-intel/indicators
    content_type: application/stix+json;version=2.1
    filter_fields: { location: x_location }
  - name: internal/notes
    content_type: application/stix+json;version=2.1
rules:
  - id: soc
    effect: permit
    operations: [discover, subscribe, query]
    groups: [soc]
    topics: ["threat-intel/**"]
  - id: partners
    effect: permit
    operations: [discover, subscribe, query]
    groups: [partners]
    topics: ["threat-intel/**"]
    max_tlp: green
  - id: providers
    effect: permit
    operations: [discover, publish]
    groups: [providers]
    topics: ["threat-intel/**"]
  - id: partners-see-internal
    effect: permit
    operations: [discover]
    groups: [partners]
    topics: ["internal/**"]
`;

/** A tiny in-memory ItemStore: enough for the core's unit tests. */
function memoryItems(): ItemStore {
  const m = new Map<string, StoredItem[]>();
  const high = new Map<string, number>();
  const list = (t: string) => m.get(t) ?? [];
  return {
    async append(topic: string, item: NewItem, max: number) {
      const seq = (high.get(topic) ?? 0) + 1;
      high.set(topic, seq);
      const next = [...list(topic).filter((i) => i.id !== item.id), { ...item, seq }].slice(-max);
      m.set(topic, next);
      return { ...item, seq };
    },
    latest: (t, n) => list(t).slice(-n),
    after: (t, seq, limit) => list(t).filter((i) => i.seq > seq).slice(0, limit),
    get: (t, id) => list(t).find((i) => i.id === id),
    list,
    oldestSeq: (t) => list(t)[0]?.seq,
    highSeq: (t) => high.get(t) ?? 0,
    async trim() { return 0; },
    async retract(t, id) { const before = list(t).length; m.set(t, list(t).filter((i) => i.id !== id)); return list(t).length < before; },
    async expire(t, before) { const keep = list(t).filter((i) => !(Date.parse(i.published) < before)); const n = list(t).length - keep.length; m.set(t, keep); return n; },
    async purge(t) { m.set(t, []); },
    async deleteTopic(t) { m.delete(t); },
    stats: () => ({ appends: 0, fsyncs: 0, compactions: 0, openFiles: 0, truncated: [] }),
    async close() {},
  };
}

function setup() {
  let policy: Policy = policyOf(POLICY);
  const subjects: Record<string, PolicySubject> = {
    'soc1@grid.test': { jid: 'soc1@grid.test', groups: ['soc'] },
    'soc2@grid.test': { jid: 'soc2@grid.test', groups: ['soc'] },
    'p1@grid.test': { jid: 'p1@grid.test', groups: ['partners'] },
    'prov@grid.test': { jid: 'prov@grid.test', groups: ['providers'] },
  };
  const events: TopicEvent[] = [];
  const topics = new TopicService({ store: memoryStore(EMPTY_TOPICS), policy: () => policy, subject: (j) => subjects[j] ?? null, log: silentLogger() });
  topics.on('event', (e) => events.push(e));
  const items = new ItemService({ topics, items: memoryItems(), subject: (j) => subjects[j] ?? null, payloadLimit: () => 262144, xml: xmlCodec, log: silentLogger() });
  return { topics, items, events, subjects, setPolicy: (p: Policy) => (policy = p) };
}

const json = (o: unknown) => {
  const text = JSON.stringify(o);
  return { kind: 'json' as const, text, bytes: Buffer.byteLength(`<json xmlns="urn:xmpp:json:0">${text}</json>`) };
};
const TLP_GREEN = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';
const TLP_RED = 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed';
function indicator(n: number, extra: Record<string, unknown> = {}) {
  return { type: 'indicator', spec_version: '2.1', id: `indicator--0000000${n}-0000-4000-8000-000000000000`, created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', pattern: "[ipv4-addr:value = '10.0.0.1']", pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z', ...extra };
}
function malware(n: number) {
  return { type: 'malware', spec_version: '2.1', id: `malware--0000000${n}-0000-4000-8000-000000000000`, created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', name: 'x', is_family: false };
}
const bundle = (...objects: unknown[]) => ({ type: 'bundle', id: 'bundle--00000000-0000-4000-8000-000000000001', objects });

test('declared topics exist; discovery follows the policy', async () => {
  const { topics, subjects } = setup();
  await topics.applyDeclaredTopics(policyOf(POLICY).topics);
  assert.deepEqual(topics.list(subjects['soc1@grid.test']!).map((t) => t.name), ['threat-intel/indicators']);
  assert.deepEqual(topics.list(subjects['p1@grid.test']!).map((t) => t.name), ['internal/notes', 'threat-intel/indicators']);
});

test('§4 denials: item-not-found, closed-node, forbidden', async () => {
  const { topics, items, subjects } = setup();
  await topics.applyDeclaredTopics(policyOf(POLICY).topics);
  const soc = subjects['soc1@grid.test']!;
  const p1 = subjects['p1@grid.test']!;
  assert.equal((await topics.subscribe(soc, 'internal/notes', soc.jid, null) as { fail: string }).fail, 'item-not-found', 'may not discover');
  assert.equal((await topics.subscribe(soc, 'no/such', soc.jid, null) as { fail: string }).fail, 'item-not-found', 'does not exist: same answer');
  assert.equal((await topics.subscribe(p1, 'internal/notes', p1.jid, null) as { fail: string }).fail, 'closed-node', 'may discover, not subscribe');
  assert.equal((await items.publish(soc, 'threat-intel/indicators', undefined, json(indicator(1))) as { fail: string }).fail, 'forbidden');
  assert.equal((await topics.subscribe(soc, 'threat-intel/indicators', 'other@grid.test', null) as { fail: string }).fail, 'invalid-jid');
});

test('subtopics: created with the first filtered subscription, shared, deleted after the last; publishers told', async () => {
  const { topics, subjects, events } = setup();
  await topics.applyDeclaredTopics(policyOf(POLICY).topics);
  const prov = subjects['prov@grid.test']!;
  assert.ok('ok' in (await topics.registerPublisher(prov, 'threat-intel/indicators')));
  const f = { type: ['indicator', 'malware'], tlp: ['green', 'white'], min_confidence: ['70'] };
  const a = await topics.subscribe(subjects['soc1@grid.test']!, 'threat-intel/indicators', 'soc1@grid.test/siem', f);
  const b = await topics.subscribe(subjects['soc2@grid.test']!, 'threat-intel/indicators', 'soc2@grid.test', { min_confidence: ['070'], type: ['malware', 'indicator'], tlp: ['clear', 'green'] });
  assert.ok('ok' in a && 'ok' in b);
  assert.equal(a.value.subscription.subtopic, 'threat-intel/indicators~853495ea38be367e', 'PROTOCOL §5 test vector');
  assert.equal(b.value.subscription.subtopic, a.value.subscription.subtopic, 'same canonical filter, same subtopic');
  const created = events.filter((e) => e.kind === 'subtopic' && e.action === 'created');
  assert.equal(created.length, 1);
  assert.deepEqual(created[0]!.kind === 'subtopic' && created[0]!.publishers, ['prov@grid.test']);
  assert.deepEqual(topics.subtopics('threat-intel/indicators').map((s) => s.subscribers), [2]);
  await topics.unsubscribe(subjects['soc1@grid.test']!, 'threat-intel/indicators', 'soc1@grid.test/siem', undefined);
  assert.equal(events.filter((e) => e.kind === 'subtopic' && e.action === 'deleted').length, 0);
  await topics.unsubscribe(subjects['soc2@grid.test']!, 'threat-intel/indicators', 'soc2@grid.test', undefined);
  assert.equal(events.filter((e) => e.kind === 'subtopic' && e.action === 'deleted').length, 1);
  assert.deepEqual(topics.subtopics('threat-intel/indicators'), []);
});

test('unsubscribe errors: not-subscribed, subid-required, invalid-subid', async () => {
  const { topics, subjects } = setup();
  await topics.applyDeclaredTopics(policyOf(POLICY).topics);
  const soc = subjects['soc1@grid.test']!;
  const T = 'threat-intel/indicators';
  assert.equal((await topics.unsubscribe(soc, T, soc.jid, undefined) as { fail: string }).fail, 'not-subscribed');
  await topics.subscribe(soc, T, soc.jid, null);
  await topics.subscribe(soc, T, soc.jid, { type: ['malware'] });
  assert.equal((await topics.unsubscribe(soc, T, soc.jid, undefined) as { fail: string }).fail, 'subid-required');
  assert.equal((await topics.unsubscribe(soc, T, soc.jid, 'nope') as { fail: string }).fail, 'invalid-subid');
});

test('an invalid filter is invalid-options naming the field', async () => {
  const { topics, subjects } = setup();
  await topics.applyDeclaredTopics(policyOf(POLICY).topics);
  const r = await topics.subscribe(subjects['soc1@grid.test']!, 'threat-intel/indicators', 'soc1@grid.test', { colour: ['blue'] });
  assert.equal((r as { fail: string }).fail, 'invalid-options');
  assert.match((r as { text: string }).text, /colour/);
});

test('delivery: each subscriber gets exactly its cut; the TLP cap applies; one cut per group', async () => {
  const { topics, items, subjects } = setup();
  await topics.applyDeclaredTopics(policyOf(POLICY).topics);
  const T = 'threat-intel/indicators';
  await topics.subscribe(subjects['soc1@grid.test']!, T, 'soc1@grid.test', { type: ['malware'] });
  await topics.subscribe(subjects['soc2@grid.test']!, T, 'soc2@grid.test', { type: ['malware'] });
  await topics.subscribe(subjects['p1@grid.test']!, T, 'p1@grid.test', null);
  const r = await items.publish(subjects['prov@grid.test']!, T, 'b1', json(bundle(
    indicator(1, { object_marking_refs: [TLP_GREEN] }), indicator(2, { object_marking_refs: [TLP_RED] }), malware(3))));
  assert.ok('ok' in r);
  const by = new Map(r.value.deliveries.map((d) => [d.subscription.jid, d]));
  const ids = (jid: string) => (JSON.parse(by.get(jid)!.payload).objects as { id: string }[]).map((o) => o.id.split('--')[0]);
  assert.deepEqual(ids('soc1@grid.test'), ['malware']);
  assert.equal(by.get('soc1@grid.test')!.payload, by.get('soc2@grid.test')!.payload, 'same cut string shared');
  assert.equal(by.get('soc1@grid.test')!.cutKey, by.get('soc2@grid.test')!.cutKey);
  assert.deepEqual(ids('p1@grid.test'), ['indicator', 'malware'], 'partners: red cut by max_tlp green; unmarked allowed here');
  assert.equal(r.value.item.seq, 1);
  // Nothing matches: nothing is sent.
  const r2 = await items.publish(subjects['prov@grid.test']!, T, 'b2', json(indicator(4, { object_marking_refs: [TLP_RED] })));
  assert.ok('ok' in r2);
  assert.deepEqual(r2.value.deliveries.map((d) => d.subscription.jid), []);
  assert.equal(r2.value.item.seq, 2);
});

test('an invalid or oversized payload is refused with its code', async () => {
  const { topics, items, subjects } = setup();
  await topics.applyDeclaredTopics(policyOf(POLICY).topics);
  const prov = subjects['prov@grid.test']!;
  const bad = await items.publish(prov, 'threat-intel/indicators', undefined, json({ type: 'indicator', id: 'nope' }));
  assert.equal((bad as { fail: string }).fail, 'invalid-payload');
  const big = json(bundle(...Array.from({ length: 2000 }, (_, i) => indicator(i % 9))));
  assert.equal((await items.publish(prov, 'threat-intel/indicators', undefined, big) as { fail: string }).fail, 'payload-too-big');
});

test('a policy change ends subscriptions no longer permitted', async () => {
  const { topics, subjects, events, setPolicy } = setup();
  await topics.applyDeclaredTopics(policyOf(POLICY).topics);
  await topics.subscribe(subjects['p1@grid.test']!, 'threat-intel/indicators', 'p1@grid.test', null);
  await topics.subscribe(subjects['soc1@grid.test']!, 'threat-intel/indicators', 'soc1@grid.test', null);
  setPolicy(policyOf(POLICY.replace(/  - id: partners\n[\s\S]*?max_tlp: green\n/, '')));
  assert.equal(await topics.recheck(), 1);
  const ended = events.filter((e) => e.kind === 'subscription-ended');
  assert.deepEqual(ended.map((e) => e.kind === 'subscription-ended' && e.subscription.jid), ['p1@grid.test']);
  assert.equal(topics.subscriptionsOf('threat-intel/indicators').length, 1);
});

test('in a cluster a whole-grid re-check takes its turn and catches up inside it; an account\'s re-check does neither', async () => {
  let policy: Policy = policyOf(POLICY);
  const subjects: Record<string, PolicySubject> = { 'p1@grid.test': { jid: 'p1@grid.test', groups: ['partners'] } };
  const steps: string[] = [];
  const topics = new TopicService({
    store: memoryStore(EMPTY_TOPICS), policy: () => policy, subject: (j) => subjects[j] ?? null, log: silentLogger(),
    ...recordingTurns(steps),
  });
  topics.on('event', (e: TopicEvent) => { if (e.kind === 'subscription-ended') steps.push('ended'); });
  await topics.applyDeclaredTopics(policyOf(POLICY).topics);
  await topics.subscribe(subjects['p1@grid.test']!, 'threat-intel/indicators', 'p1@grid.test', null);
  steps.length = 0;
  assert.equal(await topics.recheck('p1@grid.test'), 0);
  assert.deepEqual(steps, ['sync']);
  steps.length = 0;
  policy = policyOf(POLICY.replace(/  - id: partners\n[\s\S]*?max_tlp: green\n/, ''));
  assert.equal(await topics.recheck(), 1);
  assert.deepEqual(steps, ['lock', 'sync', 'ended', 'unlock']);
});

test('a notification goes only to an account approved at delivery time, cached decision or not', async () => {
  const { topics, subjects } = setup();
  await topics.applyDeclaredTopics(policyOf(POLICY).topics);
  let now = Date.parse('2030-01-01T00:00:00Z');
  const notAfter = now + 60_000;
  // soc1's certificate expires at notAfter: from then on the gate has no subject for it.
  const subject = (j: string) => (j === 'soc1@grid.test' && now >= notAfter ? null : subjects[j] ?? null);
  const items = new ItemService({
    topics, items: memoryItems(), subject, approvedUntil: (j) => (j === 'soc1@grid.test' ? notAfter : Infinity),
    payloadLimit: () => 262144, xml: xmlCodec, log: silentLogger(), now: () => new Date(now),
  });
  await topics.subscribe(subjects['soc1@grid.test']!, 'threat-intel/indicators', 'soc1@grid.test', null);
  await topics.subscribe(subjects['soc2@grid.test']!, 'threat-intel/indicators', 'soc2@grid.test', null);
  const prov = subjects['prov@grid.test']!;
  const to = (r: Awaited<ReturnType<ItemService['publish']>>) => ('ok' in r ? r.value.deliveries.map((d) => d.subscription.jid).sort() : assert.fail(r.text));
  assert.deepEqual(to(await items.publish(prov, 'threat-intel/indicators', 'a', json(indicator(1)))), ['soc1@grid.test', 'soc2@grid.test']);
  now = notAfter;
  assert.deepEqual(to(await items.publish(prov, 'threat-intel/indicators', 'b', json(indicator(2)))), ['soc2@grid.test']);
  assert.equal(topics.subscriptionsOf('threat-intel/indicators').length, 2, 'the subscription table was not consulted for this');
});

test('query: filter, after_seq, paging and the truncated flag', async () => {
  const { topics, items, subjects } = setup();
  await topics.applyDeclaredTopics(policyOf(POLICY).topics);
  const prov = subjects['prov@grid.test']!;
  for (let i = 1; i <= 6; i++) await items.publish(prov, 'threat-intel/indicators', `i${i}`, json(i % 2 ? malware(i) : indicator(i)));
  const soc = subjects['soc1@grid.test']!;
  const q = await items.query(soc, 'threat-intel/indicators', { filter: { type: ['malware'] }, afterSeq: 1, limit: 1 });
  assert.ok('ok' in q);
  assert.deepEqual(q.value.items.map((x) => x.item.seq), [3]);
  assert.equal(q.value.count, 2, 'count = matches after filtering (seq 3 and 5)');
  assert.equal(q.value.truncated, false);
  const denied = await items.query(subjects['prov@grid.test']!, 'threat-intel/indicators', { filter: {}, limit: 10 });
  assert.equal((denied as { fail: string }).fail, 'closed-node');
});

const IODEF_DOC = '<IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-2.0" version="2.00"><Incident purpose="reporting"><IncidentID name="csirt.example.com">1</IncidentID><GenerationTime>2026-01-01T00:00:00Z</GenerationTime><Contact role="creator" type="organization"><ContactName>x</ContactName></Contact></Incident></IODEF-Document>';
const WITH_IODEF = POLICY.replace('rules:', `  - name: threat-intel/iodef
    content_type: application/iodef+xml
rules:`);

test('a publish through the core alone is broadcast with its deliveries; a retract too', async () => {
  const { topics, items, subjects } = setup();
  await topics.applyDeclaredTopics(policyOf(POLICY).topics);
  const heard: string[] = [];
  let deliveredTo: string[] = [];
  items.events.on((e) => {
    heard.push(e.kind === 'retracted' ? `retracted:${e.itemId}:${e.notify}` : e.kind);
    if (e.kind === 'published') deliveredTo = e.published.deliveries.map((d) => d.subscription.jid);
  });
  await topics.subscribe(subjects['soc1@grid.test']!, 'threat-intel/indicators', 'soc1@grid.test', null);
  const prov = subjects['prov@grid.test']!;
  // Content-neutral: JSON text as a TAXII door has it, no XML anywhere, no byte count given.
  const r = await items.publish(prov, 'threat-intel/indicators', 'x1', { kind: 'json', text: JSON.stringify(indicator(1)) });
  assert.ok('ok' in r, JSON.stringify(r));
  assert.deepEqual(deliveredTo, ['soc1@grid.test']);
  assert.ok('ok' in await items.retract(prov, 'threat-intel/indicators', 'x1', { notify: true }));
  assert.deepEqual(heard, ['published', 'retracted:x1:true']);
});

test('content must fit the topic: JSON for STIX 2.1, one XML element (text parsed by the codec) for IODEF', async () => {
  const { topics, items, subjects } = setup();
  await topics.applyDeclaredTopics(policyOf(WITH_IODEF).topics);
  const prov = subjects['prov@grid.test']!;
  const fails = async (node: string, input: Parameters<ItemService['publish']>[3]) => {
    const r = await items.publish(prov, node, undefined, input);
    return 'fail' in r ? `${r.fail}: ${r.text ?? ''}` : 'ok';
  };
  assert.equal(await fails('threat-intel/iodef', { kind: 'xml', text: IODEF_DOC }), 'ok');
  assert.match(await fails('threat-intel/iodef', { kind: 'xml', text: '<IODEF-Document' }), /^invalid-payload: .*well-formed/);
  assert.match(await fails('threat-intel/iodef', { kind: 'json', text: '{}' }), /^invalid-payload: .*XML element/);
  assert.match(await fails('threat-intel/indicators', { kind: 'xml', text: IODEF_DOC }), /^invalid-payload: .*JSON/);
  // The size limit counts the text when the door gives no other count.
  const big = JSON.stringify(bundle(...Array.from({ length: 2000 }, (_, i) => indicator(i % 9))));
  assert.match(await fails('threat-intel/indicators', { kind: 'json', text: big }), /^payload-too-big/);
});

test('publish waits while a door holds the broadcaster (backpressure), then goes on', async () => {
  const { topics, items, subjects } = setup();
  await topics.applyDeclaredTopics(policyOf(POLICY).topics);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  items.events.hold(() => gate);
  let done = false;
  const p = items.publish(subjects['prov@grid.test']!, 'threat-intel/indicators', 'w', { kind: 'json', text: JSON.stringify(indicator(1)) }).then((r) => {
    done = true;
    return r;
  });
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(done, false, 'held while the door is over its high-water mark');
  release();
  assert.ok('ok' in await p);
});

test('query parameters are checked by the core: malformed is bad-request, never NaN; limits clamp', async () => {
  const { topics, items, subjects } = setup();
  await topics.applyDeclaredTopics(policyOf(POLICY).topics);
  const prov = subjects['prov@grid.test']!;
  for (let i = 1; i <= 3; i++) await items.publish(prov, 'threat-intel/indicators', `q${i}`, json(indicator(i)));
  const soc = subjects['soc1@grid.test']!;
  const code = async (q: Parameters<ItemService['query']>[2]) => {
    const r = await items.query(soc, 'threat-intel/indicators', q);
    return 'fail' in r ? r.fail : r.value.items.map((x) => x.item.seq).join(',');
  };
  assert.equal(await code({ addedAfter: 'yesterday' }), 'bad-request');
  assert.equal(await code({ addedAfter: '2026-13-45T99:00:00Z' }), 'bad-request');
  assert.equal(await code({ afterSeq: '-1' }), 'bad-request');
  assert.equal(await code({ afterSeq: '1.5' }), 'bad-request');
  assert.equal(await code({ limit: 'lots' }), 'bad-request');
  assert.equal(await code({ afterSeq: '1' }), '2,3');
  assert.equal(await code({ addedAfter: '2000-01-01T00:00:00.123456789Z', limit: 2 }), '1,2');
  assert.equal(await code({}), '1,2,3');
});
