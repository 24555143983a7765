// XEP-0060 §6 (subscribe, options, unsubscribe), §5 (disco, subscriptions, affiliations) and
// PROTOCOL §4's denial table, as a node sees them.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import {
  DOMAIN, NS, SUB_OPTIONS, TOPIC, assertError, bundle, el, fieldValues, filterOptions, form, harness, indicator,
  jsonItem, owner, publishEl, pubsub, type Harness,
} from './pubsub-fixture.js';

const SOC = 'node2@grid.test/siem';
const SOC_BARE = 'node2@grid.test';
const PROV = 'provider@grid.test/tip';
const VECTOR = { type: ['indicator', 'malware'], tlp: ['green', 'clear'], min_confidence: ['70'] };
const VECTOR_NODE = `${TOPIC}~853495ea38be367e`;

const subscribeEl = (jid: string, ...extra: Element[]) => pubsub(xml('subscribe', { node: TOPIC, jid }), ...extra);

describe('subscribe (XEP-0060 §6.1, §6.3.7)', () => {
  let h: Harness;
  before(async () => (h = await harness()));
  after(() => h.close());

  test('plain: the XEP-0060 reply, no options, no subtopic', async () => {
    const r = el(await h.iq(SOC, 'set', subscribeEl(SOC)));
    const s = r.getChild('subscription')!;
    assert.deepEqual({ node: s.attrs.node, jid: s.attrs.jid, subscription: s.attrs.subscription }, { node: TOPIC, jid: SOC, subscription: 'subscribed' });
    assert.ok(s.attrs.subid);
    assert.equal(r.getChild('options'), undefined);
  });

  test('with a filter: options result with {urn:xmpp-grid:0}subtopic = the test-vector subtopic', async () => {
    const r = el(await h.iq(SOC, 'set', subscribeEl(SOC, filterOptions(VECTOR))));
    const s = r.getChild('subscription')!;
    const o = r.getChild('options')!;
    assert.equal(o.attrs.subid, s.attrs.subid);
    assert.equal(o.attrs.node, TOPIC, 'the subscription stays on the topic node');
    const x = o.getChild('x', NS.DATA)!;
    assert.equal(x.attrs.type, 'result');
    assert.deepEqual(fieldValues(x, 'FORM_TYPE'), [SUB_OPTIONS]);
    assert.deepEqual(fieldValues(x, '{urn:xmpp-grid:0}subtopic'), [VECTOR_NODE]);
    assert.deepEqual(fieldValues(x, '{urn:xmpp-grid:0}filter.tlp'), ['clear', 'green']);
    assert.deepEqual(fieldValues(x, '{urn:xmpp-grid:0}filter.min_confidence'), ['70']);
    const ev = h.events.find((e) => e.kind === 'subtopic');
    assert.ok(ev && ev.kind === 'subtopic' && ev.action === 'created' && ev.subtopic.node === VECTOR_NODE);
  });

  test('invalid options: unknown grid field, unknown filter, empty value, wrong FORM_TYPE', async () => {
    const cases: Element[] = [
      xml('options', {}, form('submit', SUB_OPTIONS, { '{urn:xmpp-grid:0}colour': ['red'] })),
      filterOptions({ colour: ['red'] }),
      filterOptions({ type: [''] }),
      filterOptions({ tlp: ['purple'] }),
      xml('options', {}, form('submit', 'urn:example:other', { '{urn:xmpp-grid:0}filter.type': ['indicator'] })),
    ];
    for (const o of cases) assertError(await h.iq(SOC, 'set', subscribeEl(SOC, o)), 'modify', 'bad-request', 'invalid-options');
    // pubsub# fields it does not know are ignored (XEP-0004 §3.1)
    const ok = el(await h.iq(SOC, 'set', subscribeEl(SOC, xml('options', {}, form('submit', SUB_OPTIONS, { 'pubsub#deliver': ['true'] })))));
    assert.equal(ok.getChild('options'), undefined);
    // §5: a field with no value at all is an empty field → invalid-options naming it (issue 11;
    // this used to be taken as "not set")
    const untouched = assertError(await h.iq(SOC, 'set', subscribeEl(SOC, filterOptions({ type: ['indicator'], tlp: [], labels: [] }))), 'modify', 'bad-request', 'invalid-options');
    assert.match(untouched.getChildText('text', 'urn:ietf:params:xml:ns:xmpp-stanzas') ?? '', /filter field 'tlp' has no value/);
    const bare = assertError(await h.iq(SOC, 'set', subscribeEl(SOC, xml('options', {}, form('submit', SUB_OPTIONS, { '{urn:xmpp-grid:0}filter.type': [] })))), 'modify', 'bad-request', 'invalid-options');
    assert.match(bare.getChildText('text', 'urn:ietf:params:xml:ns:xmpp-stanzas') ?? '', /filter field 'type' has no value/);
    // the same filter without the empty fields is taken
    const set = el(await h.iq(SOC, 'set', subscribeEl(SOC, filterOptions({ type: ['indicator'] }))));
    assert.deepEqual(fieldValues(set.getChild('options')!.getChild('x', NS.DATA)!, '{urn:xmpp-grid:0}filter.type'), ['indicator']);
  });

  test('someone else\'s JID → invalid-jid; no jid → invalid-jid', async () => {
    assertError(await h.iq(SOC, 'set', subscribeEl('partner@grid.test')), 'modify', 'bad-request', 'invalid-jid');
    assertError(await h.iq(SOC, 'set', pubsub(xml('subscribe', { node: TOPIC }))), 'modify', 'bad-request', 'invalid-jid');
  });

  test('subscriptions (§5.6) lists them all, per node and in all', async () => {
    const all = el(await h.iq(SOC, 'get', pubsub(xml('subscriptions')))).getChild('subscriptions')!.getChildren('subscription');
    assert.equal(all.length, 3);
    const per = el(await h.iq(SOC, 'get', pubsub(xml('subscriptions', { node: TOPIC })))).getChild('subscriptions')!;
    assert.equal(per.attrs.node, TOPIC);
    assert.equal(per.getChildren('subscription').length, 3);
  });

  test('options get: the form declares each filter field list-multi/text-multi, with current values', async () => {
    assertError(await h.iq(SOC, 'get', pubsub(xml('options', { node: TOPIC, jid: SOC }))), 'modify', 'bad-request', 'subid-required');
    const subs = h.topics.subscriptionsOfOwner(SOC_BARE, TOPIC);
    const filtered = subs.find((s) => s.subtopic === VECTOR_NODE)!;
    const r = el(await h.iq(SOC, 'get', pubsub(xml('options', { node: TOPIC, jid: SOC, subid: filtered.subid }))));
    const x = r.getChild('options')!.getChild('x', NS.DATA)!;
    assert.equal(x.attrs.type, 'form');
    const type = (v: string) => x.getChildren('field').find((f) => f.attrs.var === v)?.attrs.type;
    assert.equal(type('{urn:xmpp-grid:0}filter.tlp'), 'list-multi');
    assert.equal(type('{urn:xmpp-grid:0}filter.type'), 'text-multi');
    assert.equal(type('{urn:xmpp-grid:0}filter.location'), 'text-multi', 'topic-declared field');
    assert.deepEqual(fieldValues(x, '{urn:xmpp-grid:0}filter.type'), ['indicator', 'malware']);
    const tlpOptions = x.getChildren('field').find((f) => f.attrs.var === '{urn:xmpp-grid:0}filter.tlp')!.getChildren('option').map((o) => o.getChildText('value'));
    assert.ok(tlpOptions.includes('amber+strict'));
    assertError(await h.iq(SOC, 'get', pubsub(xml('options', { node: TOPIC, jid: SOC, subid: 'nope' }))), 'modify', 'not-acceptable', 'invalid-subid');
    assertError(await h.iq('partner@grid.test/x', 'get', pubsub(xml('options', { node: TOPIC, jid: 'partner@grid.test/x' }))), 'cancel', 'unexpected-request', 'not-subscribed');
  });

  test('options set: the same filter is accepted; a different one says how to change it', async () => {
    const filtered = h.topics.subscriptionsOfOwner(SOC_BARE, TOPIC).find((s) => s.subtopic === VECTOR_NODE)!;
    const set = (f: Record<string, string[]>) => pubsub(xml('options', { node: TOPIC, jid: SOC, subid: filtered.subid }, filterOptions(f).getChild('x', NS.DATA)!));
    assert.equal(await h.iq(SOC, 'set', set({ type: ['malware', 'indicator'], tlp: ['white', 'green'], min_confidence: ['70'] })), true);
    assertError(await h.iq(SOC, 'set', set({ type: ['malware'] })), 'cancel', 'feature-not-implemented');
    assertError(await h.iq(SOC, 'set', set({ type: ['not a type!'] })), 'modify', 'bad-request', 'invalid-options');
  });

  test('unsubscribe: subid-required, invalid-subid, then by subid; not-subscribed afterwards', async () => {
    const unsub = (subid?: string) => pubsub(xml('unsubscribe', { node: TOPIC, jid: SOC, ...(subid ? { subid } : {}) }));
    assertError(await h.iq(SOC, 'set', unsub()), 'modify', 'bad-request', 'subid-required');
    assertError(await h.iq(SOC, 'set', unsub('nope')), 'modify', 'not-acceptable', 'invalid-subid');
    const subs = h.topics.subscriptionsOfOwner(SOC_BARE, TOPIC);
    for (const s of subs) assert.equal(await h.iq(SOC, 'set', unsub(s.subid)), true);
    assertError(await h.iq(SOC, 'set', unsub()), 'cancel', 'unexpected-request', 'not-subscribed');
    const gone = h.events.find((e) => e.kind === 'subtopic' && e.action === 'deleted');
    assert.ok(gone, 'the last subscription of a subtopic deletes it');
  });
});

describe('two processes of one node: each resource holds its own subscription (issue 11)', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
    await h.iq(PROV, 'set', xml('publisher', { xmlns: NS.GRID, node: TOPIC }));
  });
  after(() => h.close());

  const A = 'node2@grid.test/collector-a';
  const B = 'node2@grid.test/collector-b';
  const unsub = (jid: string, subid?: string) => pubsub(xml('unsubscribe', { node: TOPIC, jid, ...(subid ? { subid } : {}) }));
  const subidOf = (r: Element | true) => el(r).getChild('subscription')!.attrs.subid!;

  test('a full JID must be the sender\'s own: another resource of the account is invalid-jid', async () => {
    const e = assertError(await h.iq(A, 'set', subscribeEl(B)), 'modify', 'bad-request', 'invalid-jid');
    assert.match(e.getChildText('text', 'urn:ietf:params:xml:ns:xmpp-stanzas') ?? '', /node2@grid\.test\/collector-a/);
    assertError(await h.iq(A, 'set', subscribeEl('partner@grid.test/collector-a')), 'modify', 'bad-request', 'invalid-jid');
    assert.equal(h.topics.subscriptionsOfOwner(SOC_BARE).length, 0);
  });

  test('same filter, two resources: two subscriptions, each delivered to its full JID, needing no SubID', async () => {
    const a = subidOf(await h.iq(A, 'set', subscribeEl(A, filterOptions({ type: ['indicator'] }))));
    const b = subidOf(await h.iq(B, 'set', subscribeEl(B, filterOptions({ type: ['indicator'] }))));
    assert.notEqual(a, b, 'not one shared subscription');
    assert.equal(subidOf(await h.iq(A, 'set', subscribeEl(A.toUpperCase().replace('COLLECTOR-A', 'collector-a'), filterOptions({ type: ['indicator'] })))), a,
      'the same JID (local part and domain without case) and filter: the same subscription');
    await h.iq(PROV, 'set', publishEl(TOPIC, jsonItem(bundle(indicator()), 'two-1')));
    const deliveries = h.published.at(-1)!.deliveries;
    assert.deepEqual(deliveries.map((d) => [d.subscription.jid, d.subscription.subid, d.needsSubId]).sort(), [[A, a, false], [B, b, false]]);
  });

  test('unsubscribe of one resource leaves the other\'s subscription; the bare JID holds none', async () => {
    assertError(await h.iq(A, 'set', unsub(SOC_BARE)), 'cancel', 'unexpected-request', 'not-subscribed');
    assert.equal(await h.iq(A, 'set', unsub(A)), true, 'no subid needed: this JID holds one subscription');
    const left = h.topics.subscriptionsOfOwner(SOC_BARE, TOPIC);
    assert.deepEqual(left.map((s) => s.jid), [B]);
    // A process may end a sibling's subscription only by naming that JID (a dead process's, say).
    assert.equal(await h.iq(A, 'set', unsub(B, left[0]!.subid)), true);
    assert.equal(h.topics.subscriptionsOfOwner(SOC_BARE, TOPIC).length, 0);
  });
});

describe('temporary subscriptions (XEP-0060 §12.4, pubsub#expire=presence)', () => {
  let h: Harness;
  before(async () => (h = await harness()));
  after(() => h.close());

  const A = 'node2@grid.test/collector-a';
  const B = 'node2@grid.test/collector-b';
  const temporary = () => xml('options', {}, form('submit', SUB_OPTIONS, { 'pubsub#expire': ['presence'] }));
  const presence = (from: string, type?: string) =>
    h.router.middleware({ stanza: xml('presence', { from, to: DOMAIN, ...(type ? { type } : {}) }) } as never, async () => undefined);

  test('the unavailable presence of a resource ends its temporary subscriptions only', async () => {
    el(await h.iq(A, 'set', subscribeEl(A, temporary())));
    el(await h.iq(B, 'set', subscribeEl(B)));
    const [sa] = h.topics.subscriptionsOfOwner(SOC_BARE, TOPIC).filter((s) => s.jid === A);
    assert.equal(sa?.expire, 'presence');
    const expired = new Promise<unknown[]>((resolve) => h.topics.once('expired', resolve));
    await presence(A); // available: nothing ends
    await presence(B, 'unavailable'); // B's subscription is not temporary
    await presence(A, 'unavailable');
    assert.deepEqual((await expired as { jid: string }[]).map((s) => s.jid), [A]);
    assert.deepEqual(h.topics.subscriptionsOfOwner(SOC_BARE, TOPIC).map((s) => s.jid), [B]);
  });

  test('the same JID and filter asked again: the latest request decides whether it is temporary', async () => {
    const C = 'node2@grid.test/collector-c';
    const first = el(await h.iq(C, 'set', subscribeEl(C))).getChild('subscription')!.attrs.subid;
    const again = el(await h.iq(C, 'set', subscribeEl(C, temporary()))).getChild('subscription')!.attrs.subid;
    assert.equal(again, first, 'the same subscription');
    assert.equal(h.topics.subscriptionsOfOwner(SOC_BARE, TOPIC).find((s) => s.jid === C)?.expire, 'presence');
    el(await h.iq(C, 'set', subscribeEl(C)));
    assert.equal(h.topics.subscriptionsOfOwner(SOC_BARE, TOPIC).find((s) => s.jid === C)?.expire, undefined, 'kept now');
  });

  test('a bare JID has no session to end with: invalid-options', async () => {
    const e = assertError(await h.iq(A, 'set', subscribeEl(SOC_BARE, temporary())), 'modify', 'bad-request', 'invalid-options');
    assert.match(e.getChildText('text', 'urn:ietf:params:xml:ns:xmpp-stanzas') ?? '', /needs a full JID/);
  });
});

describe('PROTOCOL §4: what a denied node hears', () => {
  let h: Harness;
  before(async () => (h = await harness()));
  after(() => h.close());

  const SEER = 'seer@grid.test/x';
  const NOBODY = 'nobody@grid.test/x';
  const rows: [string, string, 'get' | 'set', () => Element, string, string, string?][] = [
    ['nobody subscribes', NOBODY, 'set', () => pubsub(xml('subscribe', { node: TOPIC, jid: NOBODY })), 'cancel', 'item-not-found'],
    ['nobody reads items', NOBODY, 'get', () => pubsub(xml('items', { node: TOPIC })), 'cancel', 'item-not-found'],
    ['nobody asks disco#info', NOBODY, 'get', () => xml('query', { xmlns: NS.DISCO_INFO, node: TOPIC }), 'cancel', 'item-not-found'],
    ['nobody asks disco#items', NOBODY, 'get', () => xml('query', { xmlns: NS.DISCO_ITEMS, node: TOPIC }), 'cancel', 'item-not-found'],
    ['seer subscribes', SEER, 'set', () => pubsub(xml('subscribe', { node: TOPIC, jid: SEER })), 'cancel', 'not-allowed', 'closed-node'],
    ['seer queries', SEER, 'get', () => xml('query', { xmlns: NS.GRID, node: TOPIC }, form('submit', 'urn:xmpp-grid:0#query', {})), 'cancel', 'not-allowed', 'closed-node'],
    ['seer publishes', SEER, 'set', () => publishEl(TOPIC, jsonItem(bundle(indicator()))), 'auth', 'forbidden'],
    ['seer creates', SEER, 'set', () => pubsub(xml('create', { node: 'threat-intel/mine' })), 'auth', 'forbidden'],
    ['seer purges', SEER, 'set', () => owner(xml('purge', { node: TOPIC })), 'auth', 'forbidden'],
    ['seer registers as publisher', SEER, 'set', () => xml('publisher', { xmlns: NS.GRID, node: TOPIC }), 'auth', 'forbidden'],
    ['soc subscribes to a hidden topic', SOC, 'set', () => pubsub(xml('subscribe', { node: 'internal/secret', jid: SOC })), 'cancel', 'item-not-found'],
    ['soc subscribes to no topic', SOC, 'set', () => pubsub(xml('subscribe', { node: 'threat-intel/none', jid: SOC })), 'cancel', 'item-not-found'],
    ['soc subscribes to an unknown subtopic', SOC, 'set', () => pubsub(xml('subscribe', { node: `${TOPIC}~0000000000000000`, jid: SOC })), 'cancel', 'item-not-found'],
    ['unregistered JID', 'stranger@grid.test/x', 'get', () => pubsub(xml('items', { node: TOPIC })), 'auth', 'registration-required'],
  ];
  for (const [name, from, type, st, etype, cond, app] of rows) {
    test(name, async () => {
      assertError(await h.iq(from, type, st()), etype, cond, app);
    });
  }
});

describe('topic directory (PROTOCOL §3) and affiliations', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
    await h.iq(PROV, 'set', xml('publisher', { xmlns: NS.GRID, node: TOPIC }));
    await h.iq(PROV, 'set', publishEl(TOPIC, jsonItem(bundle(indicator()), 'a1')));
    await h.iq(SOC, 'set', subscribeEl(SOC));
  });
  after(() => h.close());

  test('disco#info on a topic: pubsub/leaf, meta-data and the grid topic form', async () => {
    const r = el(await h.iq(SOC, 'get', xml('query', { xmlns: NS.DISCO_INFO, node: TOPIC })));
    assert.equal(r.attrs.node, TOPIC);
    const id = r.getChild('identity')!;
    assert.deepEqual([id.attrs.category, id.attrs.type], ['pubsub', 'leaf']);
    const forms = r.getChildren('x', NS.DATA);
    const meta = forms.find((x) => fieldValues(x, 'FORM_TYPE')?.[0] === 'http://jabber.org/protocol/pubsub#meta-data')!;
    assert.deepEqual(fieldValues(meta, 'pubsub#title'), ['Indicators of compromise']);
    assert.deepEqual(fieldValues(meta, 'pubsub#type'), [NS.JSON]);
    assert.deepEqual(fieldValues(meta, 'pubsub#publisher'), ['provider@grid.test']);
    assert.deepEqual(fieldValues(meta, 'pubsub#num_subscribers'), ['1']);
    assert.deepEqual(fieldValues(meta, 'pubsub#access_model'), ['whitelist']);
    assert.deepEqual(fieldValues(meta, 'pubsub#max_items'), ['5']);
    const grid = forms.find((x) => fieldValues(x, 'FORM_TYPE')?.[0] === 'urn:xmpp-grid:0#topic')!;
    assert.deepEqual(fieldValues(grid, 'content-type'), ['application/stix+json;version=2.1']);
    assert.deepEqual(fieldValues(grid, 'filtering'), ['controller']);
    const ff = fieldValues(grid, 'filter-fields')!;
    assert.ok(ff.includes('type') && ff.includes('tlp') && ff.includes('location') && !ff.some((f) => f.startsWith('filter.')));
    const iodef = el(await h.iq(SOC, 'get', xml('query', { xmlns: NS.DISCO_INFO, node: 'threat-intel/iodef' })));
    const m2 = iodef.getChildren('x', NS.DATA)[0]!;
    assert.deepEqual(fieldValues(m2, 'pubsub#type'), [NS.IODEF]);
  });

  test('disco#items on the controller: the discoverable topics, paged with RSM', async () => {
    const all = el(await h.iq(SOC, 'get', xml('query', { xmlns: NS.DISCO_ITEMS }))).getChildren('item');
    assert.deepEqual(all.map((i) => i.attrs.node), ['threat-intel/indicators', 'threat-intel/iodef']);
    assert.equal(all[0]!.attrs.jid, DOMAIN);
    assert.equal(all[0]!.attrs.name, 'Indicators of compromise');
    const p1 = el(await h.iq(SOC, 'get', xml('query', { xmlns: NS.DISCO_ITEMS }, xml('set', { xmlns: NS.RSM }, xml('max', {}, '1')))));
    assert.deepEqual(p1.getChildren('item').map((i) => i.attrs.node), [TOPIC]);
    const set = p1.getChild('set', NS.RSM)!;
    assert.deepEqual([set.getChildText('first'), set.getChildText('last'), set.getChildText('count')], [TOPIC, TOPIC, '2']);
    const p2 = el(await h.iq(SOC, 'get', xml('query', { xmlns: NS.DISCO_ITEMS }, xml('set', { xmlns: NS.RSM }, xml('max', {}, '1'), xml('after', {}, TOPIC)))));
    assert.deepEqual(p2.getChildren('item').map((i) => i.attrs.node), ['threat-intel/iodef']);
    const none = el(await h.iq('nobody@grid.test/x', 'get', xml('query', { xmlns: NS.DISCO_ITEMS })));
    assert.equal(none.getChildren('item').length, 0);
  });

  test('disco#items on a topic node: item ids as name; hidden from discover-only nodes', async () => {
    const r = el(await h.iq(SOC, 'get', xml('query', { xmlns: NS.DISCO_ITEMS, node: TOPIC })));
    assert.deepEqual(r.getChildren('item').map((i) => [i.attrs.jid, i.attrs.name, i.attrs.node]), [[DOMAIN, 'a1', undefined]]);
    const seer = el(await h.iq('seer@grid.test/x', 'get', xml('query', { xmlns: NS.DISCO_ITEMS, node: TOPIC })));
    assert.equal(seer.getChildren('item').length, 0);
  });

  test('affiliations: publisher after §6 registration, owner for the creator', async () => {
    await h.iq(PROV, 'set', pubsub(xml('create', { node: 'threat-intel/own' })));
    const r = el(await h.iq(PROV, 'get', pubsub(xml('affiliations')))).getChild('affiliations')!;
    const affs = Object.fromEntries(r.getChildren('affiliation').map((a) => [a.attrs.node, a.attrs.affiliation]));
    assert.deepEqual(affs, { [TOPIC]: 'publisher', 'threat-intel/own': 'owner' });
    const soc = el(await h.iq(SOC, 'get', pubsub(xml('affiliations', { node: TOPIC })))).getChild('affiliations')!;
    assert.equal(soc.getChildren('affiliation').length, 0);
  });
});
