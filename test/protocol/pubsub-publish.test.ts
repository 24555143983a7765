// XEP-0060 §7 and §8 as the controller answers them: create/configure/delete, publish,
// items retrieval, retract, purge (PROTOCOL §5).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import {
  DOMAIN, NS, TOPIC, TLP_GREEN, assertError, bundle, el, fieldValues, form, harness, indicator, jsonItem,
  malware, owner, publishEl, pubsub, type Harness,
} from './pubsub-fixture.js';

const PROV = 'provider@grid.test/tip';
const SOC = 'node2@grid.test/siem';
const NODE_CONFIG = 'http://jabber.org/protocol/pubsub#node_config';

describe('create, configure, delete (XEP-0060 §8)', () => {
  let h: Harness;
  before(async () => (h = await harness()));
  after(() => h.close());

  test('create and configure with Clark-notation grid fields', async () => {
    const r = await h.iq(PROV, 'set', pubsub(
      xml('create', { node: 'threat-intel/new' }),
      xml('configure', {}, form('submit', NODE_CONFIG, {
        'pubsub#title': ['New'], 'pubsub#max_items': ['50'], 'pubsub#notification_type': ['headline'],
        '{urn:xmpp-grid:0}filtering': ['publisher'], '{urn:xmpp-grid:0}filter_fields': ['location=x_location', 'sector=x_sector.name'],
        'pubsub#unknown_thing': ['ignored'],
      }))));
    assert.equal(r, true);
    const t = h.topics.topic('threat-intel/new')!;
    assert.equal(t.title, 'New');
    assert.equal(t.maxItems, 50);
    assert.equal(t.notificationType, 'headline');
    assert.equal(t.filtering, 'publisher');
    assert.deepEqual(t.filterFields, { location: 'x_location', sector: 'x_sector.name' });
    assert.equal(t.owner, 'provider@grid.test');
    assert.equal(t.contentType, 'application/stix+json;version=2.1', 'default content type');
  });

  test('create errors: instant node, conflict, forbidden, unknown grid field, malformed values', async () => {
    const cases: [string, ReturnType<typeof pubsub>, string, string, string?][] = [
      ['instant node', pubsub(xml('create')), 'cancel', 'feature-not-implemented', 'unsupported'],
      ['exists', pubsub(xml('create', { node: TOPIC })), 'cancel', 'conflict'],
      ['unknown grid field', pubsub(xml('create', { node: 'threat-intel/a' }), xml('configure', {}, form('submit', NODE_CONFIG, { '{urn:xmpp-grid:0}colour': ['red'] }))), 'modify', 'not-acceptable'],
      ['bad max_items', pubsub(xml('create', { node: 'threat-intel/b' }), xml('configure', {}, form('submit', NODE_CONFIG, { 'pubsub#max_items': ['-3'] }))), 'modify', 'not-acceptable'],
      ['bad content type', pubsub(xml('create', { node: 'threat-intel/c' }), xml('configure', {}, form('submit', NODE_CONFIG, { '{urn:xmpp-grid:0}content_type': ['text/plain'] }))), 'modify', 'not-acceptable'],
      ['open access model', pubsub(xml('create', { node: 'threat-intel/d' }), xml('configure', {}, form('submit', NODE_CONFIG, { 'pubsub#access_model': ['open'] }))), 'modify', 'not-acceptable'],
      ['xml without namespace', pubsub(xml('create', { node: 'threat-intel/e' }), xml('configure', {}, form('submit', NODE_CONFIG, { '{urn:xmpp-grid:0}content_type': ['application/xml'] }))), 'modify', 'not-acceptable'],
    ];
    for (const [name, stanza, type, cond, app] of cases) {
      const e = assertError(await h.iq(PROV, 'set', stanza), type, cond, app);
      if (name === 'instant node') assert.equal(e.getChild('unsupported', NS.ERRORS)?.attrs.feature, 'instant-nodes');
    }
    assertError(await h.iq(SOC, 'set', pubsub(xml('create', { node: 'threat-intel/f' }))), 'auth', 'forbidden');
    assert.equal(h.topics.topic('threat-intel/a'), undefined);
  });

  test('configure get returns node_config filled in; set changes it; content type is fixed', async () => {
    const r = el(await h.iq(PROV, 'get', owner(xml('configure', { node: 'threat-intel/new' }))));
    const x = r.getChild('configure')!.getChild('x', NS.DATA)!;
    assert.deepEqual(fieldValues(x, 'FORM_TYPE'), [NODE_CONFIG]);
    assert.deepEqual(fieldValues(x, 'pubsub#max_items'), ['50']);
    assert.deepEqual(fieldValues(x, 'pubsub#type'), [NS.JSON]);
    assert.deepEqual(fieldValues(x, '{urn:xmpp-grid:0}filter_fields'), ['location=x_location', 'sector=x_sector.name']);
    assert.equal(await h.iq(PROV, 'set', owner(xml('configure', { node: 'threat-intel/new' }, form('submit', NODE_CONFIG, { 'pubsub#title': ['Renamed'] })))), true);
    assert.equal(h.topics.topic('threat-intel/new')!.title, 'Renamed');
    // the form as handed out, submitted back unchanged, is accepted and changes nothing
    const back: Record<string, string[]> = {};
    for (const f of x.getChildren('field')) if (f.attrs.var !== 'FORM_TYPE') back[f.attrs.var!] = f.getChildren('value').map((v) => v.getText());
    const before = { ...h.topics.topic('threat-intel/new')! };
    assert.equal(await h.iq(PROV, 'set', owner(xml('configure', { node: 'threat-intel/new' }, form('submit', NODE_CONFIG, { ...back, 'pubsub#title': ['Renamed'] })))), true);
    assert.deepEqual(h.topics.topic('threat-intel/new'), before);
    assertError(await h.iq(PROV, 'set', owner(xml('configure', { node: 'threat-intel/new' }, form('submit', NODE_CONFIG, { '{urn:xmpp-grid:0}content_type': ['application/iodef+xml'] })))), 'modify', 'not-acceptable');
    assertError(await h.iq(SOC, 'get', owner(xml('configure', { node: 'threat-intel/new' }))), 'auth', 'forbidden');
    assertError(await h.iq(SOC, 'get', owner(xml('configure', { node: 'internal/secret' }))), 'cancel', 'item-not-found');
  });

  test('pubsub#item_expire: set by configure, shown in the form and in disco#info; 0 turns it off', async () => {
    const configure = (v: string) => h.iq(PROV, 'set', owner(xml('configure', { node: 'threat-intel/new' }, form('submit', NODE_CONFIG, { 'pubsub#item_expire': [v] }))));
    const info = async () => el(await h.iq(PROV, 'get', xml('query', { xmlns: NS.DISCO_INFO, node: 'threat-intel/new' })))
      .getChildren('x').find((x) => fieldValues(x, 'FORM_TYPE')?.[0] === 'http://jabber.org/protocol/pubsub#meta-data');
    assert.equal(fieldValues(await info(), 'pubsub#item_expire'), undefined);
    assert.equal(await configure('3600'), true);
    assert.equal(h.topics.topic('threat-intel/new')!.itemExpire, 3600);
    const x = el(await h.iq(PROV, 'get', owner(xml('configure', { node: 'threat-intel/new' })))).getChild('configure')!.getChild('x', NS.DATA)!;
    assert.deepEqual(fieldValues(x, 'pubsub#item_expire'), ['3600']);
    assert.deepEqual(fieldValues(await info(), 'pubsub#item_expire'), ['3600']);
    assertError(await configure('an hour'), 'modify', 'not-acceptable');
    assert.equal(await configure('0'), true);
    assert.ok(!h.topics.topic('threat-intel/new')!.itemExpire, 'never');
    assert.equal(fieldValues(await info(), 'pubsub#item_expire'), undefined);
  });

  test('delete: subscribers hear of it through the topic-deleted event; declared topics stay', async () => {
    const sub = el(await h.iq(SOC, 'set', pubsub(xml('subscribe', { node: 'threat-intel/new', jid: SOC }))));
    assert.equal(sub.getChild('subscription')?.attrs.subscription, 'subscribed');
    assert.equal(await h.iq(PROV, 'set', owner(xml('delete', { node: 'threat-intel/new' }))), true);
    assert.equal(h.topics.topic('threat-intel/new'), undefined);
    const ev = h.events.find((e) => e.kind === 'topic-deleted');
    assert.ok(ev && ev.kind === 'topic-deleted' && ev.subscriptions.length === 1 && ev.subscriptions[0]!.jid === SOC);
    assertError(await h.iq(PROV, 'set', owner(xml('delete', { node: TOPIC }))), 'cancel', 'not-allowed');
    assertError(await h.iq(PROV, 'set', owner(xml('delete', {}))), 'modify', 'bad-request', 'nodeid-required');
  });
});

describe('publish (XEP-0060 §7.1)', () => {
  let h: Harness;
  before(async () => (h = await harness()));
  after(() => h.close());

  test('with an item id: the result names it; the core got the stored item', async () => {
    const r = el(await h.iq(PROV, 'set', publishEl(TOPIC, jsonItem(bundle(indicator()), 'ioc-1'))));
    assert.equal(r.getChild('publish')?.attrs.node, TOPIC);
    assert.equal(r.getChild('publish')?.getChild('item')?.attrs.id, 'ioc-1');
    assert.equal(h.published.length, 1);
    assert.equal(h.published[0]!.item.seq, 1);
    assert.equal(h.published[0]!.item.publisher, 'provider@grid.test');
  });

  test('without an id: the service makes one and returns it', async () => {
    const r = el(await h.iq(PROV, 'set', publishEl(TOPIC, jsonItem(bundle(malware())))));
    const id = r.getChild('publish')?.getChild('item')?.attrs.id;
    assert.match(id ?? '', /^[0-9a-f-]{36}$/);
  });

  test('XML payload: stored self-contained, with the namespace it inherited from <item>', async () => {
    const doc = xml('IODEF-Document', { version: '2.00' },
      xml('Incident', { purpose: 'reporting' }, xml('IncidentID', { name: 'csirt.example.com' }, '1'),
        xml('GenerationTime', {}, '2015-07-18T09:00:00Z'), xml('Contact', { type: 'organization', role: 'creator' })));
    const r = await h.iq(PROV, 'set', pubsub(xml('publish', { node: 'threat-intel/iodef' }, xml('item', { id: 'inc-1', xmlns: NS.IODEF }, doc))));
    assert.equal(el(r).name, 'pubsub');
    const stored = h.itemStore.get('threat-intel/iodef', 'inc-1')!;
    assert.match(stored.payload, /^<IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-2\.0" version="2\.00">/);
  });

  test('error table', async () => {
    const cases: [string, ReturnType<typeof pubsub>, string, string, string?][] = [
      ['no node', pubsub(xml('publish', {}, jsonItem(bundle(indicator())))), 'modify', 'bad-request', 'nodeid-required'],
      ['no item', pubsub(xml('publish', { node: TOPIC })), 'modify', 'bad-request', 'item-required'],
      ['no payload', pubsub(xml('publish', { node: TOPIC }, xml('item', { id: 'x' }))), 'modify', 'bad-request', 'payload-required'],
      ['two payloads', pubsub(xml('publish', { node: TOPIC }, xml('item', {}, xml('json', { xmlns: NS.JSON }, '{}'), xml('json', { xmlns: NS.JSON }, '{}')))), 'modify', 'bad-request', 'invalid-payload'],
      ['not STIX', publishEl(TOPIC, xml('item', {}, xml('json', { xmlns: NS.JSON }, '{"hello":1}'))), 'modify', 'bad-request', 'invalid-payload'],
      ['wrong container', publishEl(TOPIC, xml('item', {}, xml('stix', { xmlns: 'urn:example' }, '{}'))), 'modify', 'bad-request', 'invalid-payload'],
      ['unknown topic', publishEl('threat-intel/none', jsonItem(bundle(indicator()))), 'cancel', 'item-not-found'],
      ['hidden topic', publishEl('internal/secret', jsonItem(bundle(indicator()))), 'cancel', 'item-not-found'],
    ];
    for (const [name, st, type, cond, app] of cases) {
      await test(name, async () => {
        assertError(await h.iq(PROV, 'set', st), type, cond, app);
      });
    }
    assertError(await h.iq(SOC, 'set', publishEl(TOPIC, jsonItem(bundle(indicator())))), 'auth', 'forbidden');
  });

  test('payload over limits.payload_bytes → not-acceptable + payload-too-big', async () => {
    h.setPayloadLimit(200);
    try {
      assertError(await h.iq(PROV, 'set', publishEl(TOPIC, jsonItem(bundle(indicator({ description: 'x'.repeat(300) }))))), 'modify', 'not-acceptable', 'payload-too-big');
    } finally {
      h.setPayloadLimit(262144);
    }
  });

  test('publish-options are preconditions, never silently ignored', async () => {
    const opts = (f: Record<string, string[]>) => xml('publish-options', {}, form('submit', 'http://jabber.org/protocol/pubsub#publish-options', f));
    const ok = await h.iq(PROV, 'set', pubsub(xml('publish', { node: TOPIC }, jsonItem(bundle(indicator()))), opts({ 'pubsub#access_model': ['whitelist'], 'pubsub#persist_items': ['true'] })));
    assert.equal(el(ok).name, 'pubsub');
    assertError(await h.iq(PROV, 'set', pubsub(xml('publish', { node: TOPIC }, jsonItem(bundle(indicator()))), opts({ 'pubsub#access_model': ['open'] }))), 'cancel', 'conflict', 'precondition-not-met');
  });
});

describe('items, retract, purge (XEP-0060 §6.5, §7.2, §8.5)', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
    for (let i = 1; i <= 4; i++) await h.iq(PROV, 'set', publishEl(TOPIC, jsonItem(bundle(indicator({ object_marking_refs: [TLP_GREEN] })), `i${i}`)));
  });
  after(() => h.close());

  const ids = (r: Element | true) => el(r).getChild('items')!.getChildren('item').map((i) => i.attrs.id);

  test('all items, ascending; each with its payload in <json/>', async () => {
    const r = el(await h.iq(SOC, 'get', pubsub(xml('items', { node: TOPIC }))));
    assert.deepEqual(ids(r), ['i1', 'i2', 'i3', 'i4']);
    const json = r.getChild('items')!.getChildren('item')[0]!.getChild('json', NS.JSON)!.getText();
    assert.equal((JSON.parse(json) as { type: string }).type, 'bundle');
  });

  test('max_items = the N newest; item ids; RSM pages with ids as markers', async () => {
    assert.deepEqual(ids(await h.iq(SOC, 'get', pubsub(xml('items', { node: TOPIC, max_items: '2' })))), ['i3', 'i4']);
    assert.deepEqual(ids(await h.iq(SOC, 'get', pubsub(xml('items', { node: TOPIC }, xml('item', { id: 'i2' }), xml('item', { id: 'nope' }))))), ['i2']);
    const page = el(await h.iq(SOC, 'get', pubsub(xml('items', { node: TOPIC }), xml('set', { xmlns: NS.RSM }, xml('max', {}, '2'), xml('after', {}, 'i1')))));
    assert.deepEqual(ids(page), ['i2', 'i3']);
    const set = page.getChild('set', NS.RSM)!;
    assert.equal(set.getChildText('first'), 'i2');
    assert.equal(set.getChild('first')!.attrs.index, '1');
    assert.equal(set.getChildText('last'), 'i3');
    assert.equal(set.getChildText('count'), '4');
    assertError(await h.iq(SOC, 'get', pubsub(xml('items', { node: TOPIC, max_items: 'many' }))), 'modify', 'bad-request');
  });

  test('denials: closed-node for discover-only, item-not-found for the unseen', async () => {
    assertError(await h.iq('seer@grid.test/x', 'get', pubsub(xml('items', { node: TOPIC }))), 'cancel', 'not-allowed', 'closed-node');
    assertError(await h.iq(SOC, 'get', pubsub(xml('items', { node: 'internal/secret' }))), 'cancel', 'item-not-found');
  });

  test('retract with notify hands the subscriptions over; unknown id is item-not-found', async () => {
    await h.iq(SOC, 'set', pubsub(xml('subscribe', { node: TOPIC, jid: SOC })));
    assert.equal(await h.iq(PROV, 'set', pubsub(xml('retract', { node: TOPIC, notify: 'true' }, xml('item', { id: 'i1' })))), true);
    assert.equal(h.retracted.length, 1);
    assert.equal(h.retracted[0]!.itemId, 'i1');
    assert.deepEqual(h.retracted[0]!.subscriptions.map((s) => s.jid), [SOC]);
    assert.equal(await h.iq(PROV, 'set', pubsub(xml('retract', { node: TOPIC }, xml('item', { id: 'i2' })))), true);
    assert.equal(h.retracted.length, 1, 'no notify, no notification');
    assertError(await h.iq(PROV, 'set', pubsub(xml('retract', { node: TOPIC }, xml('item', { id: 'i1' })))), 'cancel', 'item-not-found');
    assertError(await h.iq(PROV, 'set', pubsub(xml('retract', { node: TOPIC }))), 'modify', 'bad-request', 'item-required');
    assertError(await h.iq(SOC, 'set', pubsub(xml('retract', { node: TOPIC }, xml('item', { id: 'i3' })))), 'auth', 'forbidden');
    assert.deepEqual(ids(await h.iq(SOC, 'get', pubsub(xml('items', { node: TOPIC })))), ['i3', 'i4']);
  });

  test('purge empties the node and reports the subscribers', async () => {
    assertError(await h.iq(SOC, 'set', owner(xml('purge', { node: TOPIC }))), 'auth', 'forbidden');
    assert.equal(await h.iq(PROV, 'set', owner(xml('purge', { node: TOPIC }))), true);
    assert.deepEqual(ids(await h.iq(SOC, 'get', pubsub(xml('items', { node: TOPIC })))), []);
    assert.equal(h.purged.length, 1);
    assert.equal(h.purged[0]!.topic, TOPIC);
  });

  test('disco#info on the controller advertises the pubsub features and SHIM headers', async () => {
    const r = el(await h.iq(SOC, 'get', xml('query', { xmlns: NS.DISCO_INFO })));
    const f = new Set(r.getChildren('feature').map((x) => x.attrs.var));
    for (const want of ['subscribe', 'subscription-options', 'subscription-notifications', 'publish', 'item-ids', 'persistent-items',
      'retrieve-items', 'retrieve-subscriptions', 'retrieve-affiliations', 'retract-items', 'meta-data', 'access-whitelist', 'rsm']) {
      assert.ok(f.has(`${NS.PUBSUB}#${want}`), want);
    }
    for (const want of [NS.PUBSUB, NS.RSM, NS.SHIM, `${NS.SHIM}#SubID`, `${NS.SHIM}#Grid-Seq`, `${NS.SHIM}#Grid-Published`, NS.GRID]) assert.ok(f.has(want), want);
    assert.ok(!f.has(`${NS.PUBSUB}#instant-nodes`));
    assert.equal(DOMAIN, 'controller.grid.test');
  });
});
