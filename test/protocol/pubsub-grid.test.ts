// The grid namespace (PROTOCOL §6–§8): register as publisher, subtopics, filtered query with
// after_seq and RSM, directed-query authorization.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import {
  NS, TOPIC, TLP_GREEN, TLP_RED, assertError, bundle, el, fieldValues, filterOptions, form, harness, indicator,
  jsonItem, malware, publishEl, pubsub, type Harness,
} from './pubsub-fixture.js';

const PROV = 'provider@grid.test/tip';
const SOC = 'node2@grid.test/siem';
const PARTNER = 'partner@grid.test/x';
const QUERY = 'urn:xmpp-grid:0#query';

function queryEl(fields: Record<string, string[]>, rsm?: Record<string, string>, node = TOPIC): Element {
  return xml('query', { xmlns: NS.GRID, node }, form('submit', QUERY, fields),
    rsm ? xml('set', { xmlns: NS.RSM }, ...Object.entries(rsm).map(([k, v]) => xml(k, {}, v))) : null);
}
const seqs = (r: Element) => r.getChildren('item').map((i) => Number(i.attrs.seq));

describe('publisher and subtopics (§6)', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
    await h.iq(SOC, 'set', pubsub(xml('subscribe', { node: TOPIC, jid: SOC }), filterOptions({ type: ['malware'] })));
    await h.iq('partner@grid.test/a', 'set', pubsub(xml('subscribe', { node: TOPIC, jid: 'partner@grid.test/a' }), filterOptions({ type: ['malware'] })));
  });
  after(() => h.close());

  test('register: <publisher/> lists each subtopic with subscribers and its #filter form', async () => {
    const r = el(await h.iq(PROV, 'set', xml('publisher', { xmlns: NS.GRID, node: TOPIC })));
    assert.equal(r.name, 'publisher');
    const subs = r.getChildren('subtopic');
    assert.equal(subs.length, 1);
    assert.match(subs[0]!.attrs.node!, /^threat-intel\/indicators~[0-9a-f]{16}$/);
    assert.equal(subs[0]!.attrs.subscribers, '2');
    const x = subs[0]!.getChild('x', NS.DATA)!;
    assert.deepEqual(fieldValues(x, 'FORM_TYPE'), ['urn:xmpp-grid:0#filter']);
    assert.deepEqual(fieldValues(x, 'filter.type'), ['malware']);
    assert.deepEqual(h.topics.topic(TOPIC)!.publishers, ['provider@grid.test']);
  });

  test('subtopics get answers the same list without registering (discover)', async () => {
    const r = el(await h.iq('seer@grid.test/x', 'get', xml('subtopics', { xmlns: NS.GRID, node: TOPIC })));
    assert.equal(r.attrs.node, TOPIC);
    assert.equal(r.getChildren('subtopic').length, 1);
    assertError(await h.iq('nobody@grid.test/x', 'get', xml('subtopics', { xmlns: NS.GRID, node: TOPIC })), 'cancel', 'item-not-found');
  });
});

describe('filtered query (§7)', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
    // max_items is 5: after seven items, seq 1 and 2 are gone.
    for (let i = 1; i <= 7; i++) {
      const obj = i % 2 ? indicator({ object_marking_refs: [TLP_GREEN] }) : malware({ object_marking_refs: [TLP_RED] });
      await h.iq(PROV, 'set', publishEl(TOPIC, jsonItem(bundle(obj), `q${i}`)));
    }
  });
  after(() => h.close());

  test('after_seq, ascending seq, RSM first/last are seqs, count after filtering', async () => {
    const r = el(await h.iq(SOC, 'get', queryEl({ after_seq: ['3'] })));
    assert.deepEqual(seqs(r), [4, 5, 6, 7]);
    assert.equal(r.attrs.truncated, undefined);
    const item = r.getChildren('item')[0]!;
    assert.equal(item.attrs.id, 'q4');
    assert.ok(item.attrs.published);
    assert.equal(item.attrs.publisher, PROV.split('/')[0], 'each item names its publisher (issue 11)');
    assert.ok(item.getChild('json', NS.JSON));
    const set = r.getChild('set', NS.RSM)!;
    assert.deepEqual([set.getChildText('first'), set.getChildText('last'), set.getChildText('count')], ['4', '7', '4']);
  });

  test('filter.type and RSM <max>/<after> paging', async () => {
    const r = el(await h.iq(SOC, 'get', queryEl({ 'filter.type': ['malware'] }, { max: '1' })));
    assert.deepEqual(seqs(r), [4]);
    assert.equal(r.getChild('set', NS.RSM)!.getChildText('count'), '2');
    const next = el(await h.iq(SOC, 'get', queryEl({ 'filter.type': ['malware'] }, { max: '1', after: '4' })));
    assert.deepEqual(seqs(next), [6]);
  });

  test('after_seq older than the oldest stored item → truncated', async () => {
    const r = el(await h.iq(SOC, 'get', queryEl({ after_seq: ['0'] })));
    assert.equal(r.attrs.truncated, 'true');
    assert.deepEqual(seqs(r), [3, 4, 5, 6, 7]);
  });

  test('max_tlp green: red items are cut away for partners, and not counted', async () => {
    const r = el(await h.iq(PARTNER, 'get', queryEl({})));
    assert.deepEqual(seqs(r), [3, 5, 7]);
    assert.equal(r.getChild('set', NS.RSM)!.getChildText('count'), '3');
  });

  test('added_after is strictly after published', async () => {
    const all = el(await h.iq(SOC, 'get', queryEl({})));
    const t5 = all.getChildren('item').find((i) => i.attrs.seq === '5')!.attrs.published!;
    const r = el(await h.iq(SOC, 'get', queryEl({ added_after: [t5] })));
    const expected = all.getChildren('item').filter((i) => Date.parse(i.attrs.published!) > Date.parse(t5)).map((i) => Number(i.attrs.seq));
    assert.deepEqual(seqs(r), expected);
    assert.ok(!seqs(r).includes(5), 'strictly after');
  });

  test('bad requests: no form, wrong FORM_TYPE, after_seq and <after>, bad values, unknown field', async () => {
    const cases: Element[] = [
      xml('query', { xmlns: NS.GRID, node: TOPIC }),
      xml('query', { xmlns: NS.GRID, node: TOPIC }, form('submit', 'urn:example', {})),
      queryEl({ after_seq: ['2'] }, { after: '3' }),
      queryEl({ after_seq: ['-1'] }),
      queryEl({ added_after: ['yesterday'] }),
      queryEl({ colour: ['red'] }),
      queryEl({}, { after: 'q3' }),
    ];
    for (const c of cases) assertError(await h.iq(SOC, 'get', c), 'modify', 'bad-request');
    assertError(await h.iq(SOC, 'get', queryEl({ 'filter.colour': ['red'] })), 'modify', 'bad-request', 'invalid-options');
  });

  test('<max> is clamped to 1000', async () => {
    const r = el(await h.iq(SOC, 'get', queryEl({}, { max: '999999' })));
    assert.equal(seqs(r).length, 5);
  });
});

describe('directed-query authorization (§8)', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
    await h.iq(PROV, 'set', xml('publisher', { xmlns: NS.GRID, node: TOPIC }));
  });
  after(() => h.close());

  const ask = (jid: string, operation = 'query', node = TOPIC) => xml('authorize', { xmlns: NS.GRID, jid, node, operation });
  const table: [string, string, string][] = [
    ['node2@grid.test', 'query', 'permit'],
    ['node2@grid.test/siem', 'subscribe', 'permit'],
    ['node2@grid.test', 'publish', 'deny'],
    ['seer@grid.test', 'query', 'deny'],
    ['nobody@grid.test', 'query', 'deny'],
    ['stranger@grid.test', 'query', 'deny'],
  ];
  for (const [jid, op, decision] of table) {
    test(`${jid} ${op} → ${decision}`, async () => {
      const r = el(await h.iq(PROV, 'get', ask(jid, op)));
      assert.equal(r.name, 'authorize');
      assert.deepEqual([r.attrs.jid, r.attrs.node, r.attrs.operation, r.attrs.decision], [jid, TOPIC, op, decision]);
    });
  }

  test('only publishers of the topic may ask; bad operation is bad-request', async () => {
    assertError(await h.iq('provider2@grid.test/x', 'get', ask('node2@grid.test')), 'auth', 'forbidden');
    assertError(await h.iq(SOC, 'get', ask('node2@grid.test')), 'auth', 'forbidden');
    assertError(await h.iq(PROV, 'get', ask('node2@grid.test', 'delete')), 'modify', 'bad-request');
    assertError(await h.iq('nobody@grid.test/x', 'get', ask('node2@grid.test')), 'cancel', 'item-not-found');
  });
});
