// Agent: XEP-0060 / grid request stanzas and the readers of their answers (PROTOCOL §3, §5–§7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import xml from '@xmpp/xml';
import * as ps from '../../src/agent/pubsub.js';
import { parseQueryPage, queryIq } from '../../src/agent/query.js';
import { parseDiscoItems, parseTopicInfo } from '../../src/agent/topics.js';
import { findForm, buildForm } from '../../src/agent/forms.js';

const CTL = 'controller.grid.test';
const PS = 'http://jabber.org/protocol/pubsub';

test('subscribeIq with a filter is subscribe-and-configure with Clark fields (§5 example)', () => {
  const iq = ps.subscribeIq(CTL, 'threat-intel/indicators', 'node2@grid.test', { type: ['indicator', 'malware'], min_confidence: 70 });
  const p = iq.getChild('pubsub', PS)!;
  assert.deepEqual(p.getChild('subscribe')!.attrs, { node: 'threat-intel/indicators', jid: 'node2@grid.test' });
  const form = findForm(p.getChild('options'), 'http://jabber.org/protocol/pubsub#subscribe_options')!;
  assert.equal(form.type, 'submit');
  assert.deepEqual(Object.fromEntries(form.fields), {
    '{urn:xmpp-grid:0}filter.type': ['indicator', 'malware'], '{urn:xmpp-grid:0}filter.min_confidence': ['70'],
  });
});

test('subscribeIq without a filter is a plain XEP-0060 subscribe', () => {
  const p = ps.subscribeIq(CTL, 't', 'a@grid.test').getChild('pubsub', PS)!;
  assert.equal(p.getChild('options'), undefined);
});

test('parseSubscribeReply reads subid and the {urn:xmpp-grid:0}subtopic of the options result', () => {
  const r = xml('iq', { type: 'result' }, xml('pubsub', { xmlns: PS },
    xml('subscription', { node: 't', jid: 'a@grid.test', subid: 's1', subscription: 'subscribed' }),
    xml('options', { node: 't' }, buildForm('result', 'http://jabber.org/protocol/pubsub#subscribe_options',
      [{ var: '{urn:xmpp-grid:0}filter.type', values: ['x'] }, { var: '{urn:xmpp-grid:0}subtopic', values: ['t~0123456789abcdef'] }]))));
  assert.deepEqual(ps.parseSubscribeReply(r, 't', { type: ['x'] }), { topic: 't', subid: 's1', subtopic: 't~0123456789abcdef', filter: { type: ['x'] } });
  const pendingReply = xml('iq', { type: 'result' }, xml('pubsub', { xmlns: PS }, xml('subscription', { node: 't', subscription: 'pending' })));
  assert.throws(() => ps.parseSubscribeReply(pendingReply, 't'), /pending/);
});

test('publishIq puts the payload in <item>; the reply id wins over the requested one', () => {
  const iq = ps.publishIq(CTL, 't', xml('json', { xmlns: 'urn:xmpp:json:0' }, '{}'), 'i1');
  const item = iq.getChild('pubsub', PS)!.getChild('publish')!.getChild('item')!;
  assert.equal(item.attrs.id, 'i1');
  assert.equal(item.getChild('json')!.getText(), '{}');
  const reply = xml('iq', { type: 'result' }, xml('pubsub', { xmlns: PS }, xml('publish', { node: 't' }, xml('item', { id: 'srv-7' }))));
  assert.equal(ps.parsePublishReply(reply), 'srv-7');
  assert.equal(ps.parsePublishReply(xml('iq', { type: 'result' }), 'mine'), 'mine');
  assert.throws(() => ps.parsePublishReply(xml('iq', { type: 'result' })), /no item id/);
});

test('parseSubscriptions and parseSubtopics', () => {
  const subs = xml('iq', {}, xml('pubsub', { xmlns: PS }, xml('subscriptions', {},
    xml('subscription', { node: 'a', jid: 'n@grid.test', subid: '1', subscription: 'subscribed' }))));
  assert.deepEqual(ps.parseSubscriptions(subs), [{ topic: 'a', jid: 'n@grid.test', subid: '1', subscription: 'subscribed' }]);
  const st = xml('iq', {}, xml('publisher', { xmlns: 'urn:xmpp-grid:0', node: 'a' },
    xml('subtopic', { node: 'a~1', subscribers: '2' }, buildForm('result', 'urn:xmpp-grid:0#filter', [{ var: 'filter.tlp', values: ['green'] }]))));
  assert.deepEqual(ps.parseSubtopics(st), [{ node: 'a~1', subscribers: 2, filter: { tlp: ['green'] } }]);
});

test('queryIq: first page has after_seq in the form; later pages use RSM <after> only', () => {
  const first = queryIq(CTL, 't', { filter: { type: ['malware'] }, afterSeq: 41, max: 100 }).getChild('query', 'urn:xmpp-grid:0')!;
  const form = findForm(first, 'urn:xmpp-grid:0#query')!;
  assert.deepEqual(Object.fromEntries(form.fields), { 'filter.type': ['malware'], after_seq: ['41'] });
  assert.equal(first.getChild('set', 'http://jabber.org/protocol/rsm')!.getChildText('max'), '100');
  assert.equal(first.getChild('set')!.getChild('after'), undefined);
  const next = queryIq(CTL, 't', { afterSeq: 41 }, 141).getChild('query', 'urn:xmpp-grid:0')!;
  assert.equal(findForm(next, 'urn:xmpp-grid:0#query')!.fields.has('after_seq'), false);
  assert.equal(next.getChild('set')!.getChildText('after'), '141');
  assert.throws(() => queryIq(CTL, 't', { afterSeq: -1 }), /afterSeq/);
});

test('parseQueryPage reads items, RSM count/last and truncated', () => {
  const r = xml('iq', {}, xml('query', { xmlns: 'urn:xmpp-grid:0', node: 't', truncated: 'true' },
    xml('item', { id: 'a', seq: '5', published: '2025-01-01T00:00:00Z' }, xml('json', { xmlns: 'urn:xmpp:json:0' }, '{"type":"x"}')),
    xml('item', { id: 'b', seq: '9', published: '2025-01-02T00:00:00Z' }, xml('json', { xmlns: 'urn:xmpp:json:0' }, '{"type":"y"}')),
    xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('first', {}, '5'), xml('last', {}, '9'), xml('count', {}, '7'))));
  const page = parseQueryPage(r, 't');
  assert.deepEqual(page.items.map((i) => [i.id, i.seq, i.payload]), [['a', 5, { type: 'x' }], ['b', 9, { type: 'y' }]]);
  assert.deepEqual([page.count, page.last, page.truncated], [7, 9, true]);
});

test('parseDiscoItems and parseTopicInfo (§3 forms)', () => {
  const items = xml('iq', {}, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' },
    xml('item', { jid: CTL, node: 'threat-intel/indicators', name: 'IOCs' }), xml('item', { jid: CTL })));
  assert.deepEqual(parseDiscoItems(items).items, [{ node: 'threat-intel/indicators', name: 'IOCs' }]);
  const info = xml('iq', {}, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info', node: 'threat-intel/indicators' },
    xml('identity', { category: 'pubsub', type: 'leaf' }),
    buildForm('result', 'http://jabber.org/protocol/pubsub#meta-data', [
      { var: 'pubsub#title', values: ['Indicators'] }, { var: 'pubsub#type', values: ['urn:xmpp:json:0'] },
      { var: 'pubsub#publisher', values: ['sandbox1@grid.test'] }, { var: 'pubsub#num_subscribers', values: ['3'] }]),
    buildForm('result', 'urn:xmpp-grid:0#topic', [
      { var: 'content-type', values: ['application/stix+json;version=2.1'] }, { var: 'filtering', values: ['controller'] },
      { var: 'filter-fields', values: ['type', 'tlp', 'location'] }])));
  assert.deepEqual(parseTopicInfo(info, 'threat-intel/indicators'), {
    node: 'threat-intel/indicators', title: 'Indicators', payloadType: 'urn:xmpp:json:0',
    contentType: 'application/stix+json;version=2.1', filtering: 'controller', filterFields: ['type', 'tlp', 'location'],
    publishers: ['sandbox1@grid.test'], subscribers: 3,
  });
});
