// Limits and caps (issue 16): every list answers in RSM pages that fit one stanza, fast at
// 2,000 entries; caps are refused with a text naming them; no single stanza holds the event
// loop for long (timer-lag probe, test/helpers/loop-probe.ts).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import {
  NS, TOPIC, assertError, el, filterOptions, form, harness, jsonItem, owner, publishEl, pubsub, type Harness,
} from './pubsub-fixture.js';
import { canonicalise, filterHash, subtopicNode } from '../../src/filters/index.js';
import type { Subscription } from '../../src/topics/types.js';
import { answerBudgetBytes } from '../../src/xmpp/xmlnode.js';
import { longestBlock, MAX_BLOCK_MS } from '../helpers/loop-probe.js';
import { AccountService, EMPTY_ACCOUNTS } from '../../src/accounts/service.js';
import { verifyRegistration } from '../../src/identity/index.js';
import { installRegister } from '../../src/xmpp/handlers/register.js';
import { Router } from '../../src/xmpp/router.js';
import { Disco } from '../../src/xmpp/handlers/disco.js';
import { memoryStore } from '../helpers/fakes.js';
import { testPki, trustFor } from '../helpers/pki.js';
import { silentLogger } from '../../src/log.js';

const PROV = 'provider@grid.test/tip';
const SOC = 'node2@grid.test/siem';
const NODE_CONFIG = 'http://jabber.org/protocol/pubsub#node_config';

/** `n` subscriptions with distinct filters (location l0…), spread over two accounts. */
function manySubtopics(n: number, values = (i: number) => [`l${i}`]): Subscription[] {
  return Array.from({ length: n }, (_, i) => {
    const owner = i % 2 ? 'partner@grid.test' : 'node2@grid.test';
    const filter = canonicalise({ location: values(i) });
    return { subid: `s${i}`, topic: TOPIC, jid: `${owner}/r`, owner, filter, subtopic: subtopicNode(TOPIC, filterHash(filter)), createdAt: '2026-01-01T00:00:00.000Z' };
  });
}

const rsm = (fields: Record<string, string>) => xml('set', { xmlns: NS.RSM }, ...Object.entries(fields).map(([k, v]) => xml(k, {}, v)));
const setOf = (r: Element) => r.getChild('set', NS.RSM)!;

/** Pages through a §6 list with RSM <after/>; checks each answer fits one stanza. */
async function pageAll(h: Harness, from: string, type: 'get' | 'set', name: 'subtopics' | 'publisher', max?: number): Promise<{ nodes: string[]; pages: number; slowestMs: number; blockedMs: number }> {
  const nodes: string[] = [];
  let after: string | undefined;
  let pages = 0;
  let slowestMs = 0;
  let blockedMs = 0;
  for (;;) {
    const set = max !== undefined || after !== undefined ? rsm({ ...(max !== undefined ? { max: String(max) } : {}), ...(after ? { after } : {}) }) : null;
    const probe = await longestBlock(() => h.iq(from, type, xml(name, { xmlns: NS.GRID, node: TOPIC }, set)));
    const r = el(probe.value);
    slowestMs = Math.max(slowestMs, probe.totalMs);
    blockedMs = Math.max(blockedMs, probe.blockedMs);
    if (process.env.PROBE_DEBUG) console.log(name, pages, probe.blockedMs.toFixed(1), probe.blockedWallMs.toFixed(1), probe.totalMs.toFixed(1));
    assert.equal(r.name, name);
    assert.ok(Buffer.byteLength(r.toString()) <= answerBudgetBytes(), `a page of ${Buffer.byteLength(r.toString())} bytes`);
    const entries = r.getChildren('subtopic');
    pages++;
    if (!entries.length) break;
    nodes.push(...entries.map((e) => e.attrs.node!));
    const s = setOf(r);
    assert.equal(s.getChildText('last'), entries.at(-1)!.attrs.node);
    assert.equal(s.getChildText('first'), entries[0]!.attrs.node);
    if (Number(s.getChildText('count')) === nodes.length) break;
    after = s.getChildText('last')!;
    assert.ok(pages < 100, 'paging ends');
  }
  return { nodes, pages, slowestMs, blockedMs };
}

describe('§6 lists of 2,000 subtopics', () => {
  let h: Harness;
  const subs = manySubtopics(2000);
  const expected = [...new Set(subs.map((s) => s.subtopic!))].sort();
  before(async () => {
    h = await harness(undefined, { subtopicsPerTopic: 5000 }, subs);
  });
  after(() => h.close());

  test('<subtopics/> without <max/> answers a page that fits, fast, and RSM <after/> pages through all', async () => {
    // Once before measuring: the first call compiles the code path (a one-time cost).
    await h.iq(SOC, 'get', xml('subtopics', { xmlns: NS.GRID, node: TOPIC }));
    const r = await pageAll(h, SOC, 'get', 'subtopics');
    assert.deepEqual(r.nodes, expected, 'every subtopic exactly once, in node order');
    assert.ok(r.pages >= 4, `${r.pages} pages`);
    assert.ok(r.slowestMs < 500, `slowest page ${r.slowestMs.toFixed(1)} ms`);
    assert.ok(r.blockedMs < MAX_BLOCK_MS, `event loop held ${r.blockedMs.toFixed(1)} ms`);
  });

  test('<publisher/> pages the same list with <max/>; the count is the whole list', async () => {
    const first = el(await h.iq(PROV, 'set', xml('publisher', { xmlns: NS.GRID, node: TOPIC }, rsm({ max: '100' }))));
    assert.equal(first.getChildren('subtopic').length, 100);
    assert.equal(setOf(first).getChildText('count'), '2000');
    assert.equal(setOf(first).getChild('first')!.attrs.index, '0');
    const r = await pageAll(h, PROV, 'set', 'publisher', 300);
    assert.deepEqual(r.nodes, expected);
    assert.equal(r.pages, 7);
  });

  test('an RSM <after/> that is not in the list is item-not-found; a malformed <max/> is bad-request', async () => {
    assertError(await h.iq(SOC, 'get', xml('subtopics', { xmlns: NS.GRID, node: TOPIC }, rsm({ after: `${TOPIC}~ffffffffffffffff` }))), 'cancel', 'item-not-found');
    assertError(await h.iq(SOC, 'get', xml('subtopics', { xmlns: NS.GRID, node: TOPIC }, rsm({ max: 'lots' }))), 'modify', 'bad-request');
  });

  test('subscriptions and disco#items answer in pages too', async () => {
    const subsAnswer = el(await h.iq(SOC, 'get', pubsub(xml('subscriptions'))));
    assert.equal(subsAnswer.getChild('subscriptions')!.getChildren('subscription').length, 100);
    assert.equal(setOf(subsAnswer).getChildText('count'), '1000');
    const topics = el(await h.iq(SOC, 'get', xml('query', { xmlns: NS.DISCO_ITEMS }, rsm({ max: '1' }))));
    assert.equal(topics.getChildren('item').length, 1);
  });
});

describe('big filters (raised caps): the §6 answer is cut by bytes', () => {
  let h: Harness;
  // Five subtopics of ~100 KB each: three fit one answer of limits.stanza_bytes.
  const subs = manySubtopics(5, (i) => Array.from({ length: 100 }, (_, k) => `${i}-${k}-${'x'.repeat(1000)}`));
  before(async () => {
    h = await harness(undefined, { filter: { values: 256, bytes: 120_000 } }, subs);
  });
  after(() => h.close());

  test('pages hold what fits, never more than one stanza', async () => {
    const r = await pageAll(h, SOC, 'get', 'subtopics');
    assert.equal(r.nodes.length, 5);
    assert.ok(r.pages >= 2, `${r.pages} pages`);
  });
});

describe('caps, each refused with a text naming it', () => {
  let h: Harness;
  before(async () => {
    h = await harness(undefined, { subtopicsPerTopic: 2, subscriptionsPerAccount: 3, topicsPerAccount: 2, maxItems: 500 });
  });
  after(() => h.close());
  const sub = (jid: string, loc: string) => h.iq(jid, 'set', pubsub(xml('subscribe', { node: TOPIC, jid }), filterOptions({ location: [loc] })));
  const text = (e: Element) => e.getChildText('text', NS.STANZAS) ?? '';

  test('filter values and bytes (limits.filter_values, limits.filter_bytes)', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => `v${i}`);
    const probe = await longestBlock(() => h.iq(SOC, 'set', pubsub(xml('subscribe', { node: TOPIC, jid: SOC }), filterOptions({ location: many }))));
    assert.match(text(assertError(probe.value, 'modify', 'bad-request', 'invalid-options')), /at most 256 per subscription \(limits\.filter_values\)/);
    assert.ok(probe.blockedMs < MAX_BLOCK_MS, `event loop held ${probe.blockedMs.toFixed(1)} ms`);
    const wide = Array.from({ length: 20 }, (_, i) => `${i}${'y'.repeat(1000)}`);
    assert.match(text(assertError(await h.iq(SOC, 'set', pubsub(xml('subscribe', { node: TOPIC, jid: SOC }), filterOptions({ location: wide }))), 'modify', 'bad-request', 'invalid-options')), /limits\.filter_bytes/);
  });

  test('subtopics per topic: a new filter beyond the cap is refused, an existing one is shared', async () => {
    assert.equal(el(await sub(SOC, 'a')).name, 'pubsub');
    assert.equal(el(await sub(SOC, 'b')).name, 'pubsub');
    assert.match(text(assertError(await sub(SOC, 'c'), 'cancel', 'not-allowed')), /has 2 subtopics, the cap \(limits\.subtopics_per_topic\)/);
    assert.equal(el(await sub('partner@grid.test/p', 'a')).name, 'pubsub', 'an existing subtopic takes more subscribers');
  });

  test('subscriptions per account (limits.subscriptions_per_account)', async () => {
    await h.iq(SOC, 'set', pubsub(xml('subscribe', { node: TOPIC, jid: SOC })));
    const r = await h.iq('node2@grid.test/other', 'set', pubsub(xml('subscribe', { node: TOPIC, jid: 'node2@grid.test/other' })));
    assert.match(text(assertError(r, 'cancel', 'not-allowed')), /at most 3 subscriptions per account \(limits\.subscriptions_per_account\)/);
  });

  test('created topics per account (limits.topics_per_account) and pubsub#max_items (limits.max_items)', async () => {
    const create = (node: string, maxItems?: string) => h.iq(PROV, 'set', pubsub(xml('create', { node }),
      ...(maxItems ? [xml('configure', {}, form('submit', NODE_CONFIG, { 'pubsub#max_items': [maxItems] }))] : [])));
    assert.match(text(assertError(await create('threat-intel/big', '1000000'), 'modify', 'not-acceptable')), /from 1 to 500 \(the cap, limits\.max_items\)/);
    assert.equal(await create('threat-intel/t1', 'max'), true);
    assert.equal(h.topics.topic('threat-intel/t1')!.maxItems, 500, "'max' is the cap");
    assert.match(text(assertError(await h.iq(PROV, 'set', owner(xml('configure', { node: 'threat-intel/t1' }, form('submit', NODE_CONFIG, { 'pubsub#max_items': ['501'] })))), 'modify', 'not-acceptable')), /limits\.max_items/);
    assert.equal(await create('threat-intel/t2'), true);
    assert.match(text(assertError(await create('threat-intel/t3'), 'cancel', 'not-allowed')), /at most 2 created topics per account \(limits\.topics_per_account\)/);
  });
});

describe('one stanza cannot hold the event loop', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.close());
  const objects = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'x-a', id: `x-a--00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }));

  test('a 100,000-object STIX bundle is refused at the byte limit (payload-too-big)', async () => {
    const st = publishEl(TOPIC, jsonItem({ type: 'bundle', id: 'bundle--00000000-0000-4000-8000-000000000001', objects: objects(100_000) }, 'b1'));
    const probe = await longestBlock(() => h.iq(PROV, 'set', st));
    assertError(probe.value, 'modify', 'not-acceptable', 'payload-too-big');
    assert.ok(probe.blockedMs < MAX_BLOCK_MS, `event loop held ${probe.blockedMs.toFixed(1)} ms`);
  });

  test('JSON nested 100,000 deep is refused as invalid-payload, without a crash', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const probe = await longestBlock(() => h.iq(PROV, 'set', publishEl(TOPIC, xml('item', { id: 'd1' }, xml('json', { xmlns: NS.JSON }, deep)))));
    assertError(probe.value, 'modify', 'bad-request', 'invalid-payload');
    assert.ok(probe.blockedMs < MAX_BLOCK_MS, `event loop held ${probe.blockedMs.toFixed(1)} ms`);
  });

  test('a 5 KB node name is refused quickly everywhere a node is named', async () => {
    const long = `threat-intel/${'a*/'.repeat(1700)}`;
    for (const [type, st, cond] of [
      ['get', xml('subtopics', { xmlns: NS.GRID, node: long }), 'item-not-found'],
      ['set', pubsub(xml('subscribe', { node: long, jid: SOC })), 'item-not-found'],
      ['set', pubsub(xml('create', { node: long })), 'not-acceptable'],
      ['get', xml('query', { xmlns: NS.DISCO_INFO, node: long }), 'item-not-found'],
    ] as const) {
      const probe = await longestBlock(() => h.iq(type === 'get' ? SOC : PROV, type, st));
      assertError(probe.value, cond === 'not-acceptable' ? 'modify' : 'cancel', cond);
      assert.ok(probe.blockedMs < MAX_BLOCK_MS, `${st.name}: event loop held ${probe.blockedMs.toFixed(1)} ms`);
    }
  });
});

test('a registration form with a 1 MB certificate field is refused (bad-certificate) without holding the loop', async () => {
  const trust = trustFor(testPki().ca);
  const accounts = new AccountService({
    store: memoryStore(EMPTY_ACCOUNTS), trust: () => trust, verify: verifyRegistration, log: silentLogger(),
    policy: { autoApprove: () => null, declaredGroups: () => [], admins: () => [] },
  });
  const router = new Router(silentLogger());
  installRegister(router, new Disco(), accounts);
  const from = 'newcomer@grid.test/r';
  const challenge = accounts.challenge('newcomer@grid.test');
  const pemLines = Array.from({ length: 16_000 }, () => 'A'.repeat(64));
  const query = xml('query', { xmlns: 'jabber:iq:register' }, form('submit', 'urn:xmpp-grid:0#register', {
    challenge: [challenge], certificate: ['-----BEGIN CERTIFICATE-----', ...pemLines, '-----END CERTIFICATE-----'], signature: ['AAAA'],
  }));
  const probe = await longestBlock(() => router.dispatchIq('set', xml('iq', { type: 'set', id: 'r1', from, to: 'controller.grid.test' }, query), query));
  const e = assertError(probe.value, 'modify', 'bad-request');
  assert.match(e.getChildText('text', NS.STANZAS) ?? '', /at most 65536/);
  assert.ok(probe.blockedMs < MAX_BLOCK_MS, `event loop held ${probe.blockedMs.toFixed(1)} ms`);
  assert.equal(accounts.get('newcomer@grid.test'), undefined);
});
