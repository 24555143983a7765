// Agent: incoming stanzas → typed events (XEP-0060 events with XEP-0131 headers, §2 account
// messages, §5 subtopic messages), built with xml() as the controller sends them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import xml from '@xmpp/xml';
import { parseEvents } from '../../src/agent/events.js';

const CTL = 'controller.grid.test';
const EV = 'http://jabber.org/protocol/pubsub#event';
const headers = (h: Record<string, string>) => xml('headers', { xmlns: 'http://jabber.org/protocol/shim' },
  ...Object.entries(h).map(([name, v]) => xml('header', { name }, v)));
const msg = (...children: ReturnType<typeof xml>[]) => xml('message', { from: CTL, to: 'soc1@grid.test', type: 'normal' }, ...children);

test('an item notification carries topic, id, publisher, seq, published, subid and the parsed payload', () => {
  const payload = { type: 'bundle', id: 'bundle--1', objects: [] };
  const s = msg(xml('event', { xmlns: EV }, xml('items', { node: 'threat-intel/indicators' },
    xml('item', { id: 'i1', publisher: 'sandbox1@grid.test' }, xml('json', { xmlns: 'urn:xmpp:json:0' }, JSON.stringify(payload))))),
  headers({ SubID: 's-9', 'Grid-Seq': '42', 'Grid-Published': '2025-01-02T03:04:05Z' }));
  assert.deepEqual(parseEvents(s, CTL), [{
    kind: 'item', topic: 'threat-intel/indicators', id: 'i1', publisher: 'sandbox1@grid.test', seq: 42,
    published: '2025-01-02T03:04:05Z', subid: 's-9', payload,
  }]);
});

test('without headers the optional fields are absent, not undefined-valued', () => {
  const s = msg(xml('event', { xmlns: EV }, xml('items', { node: 't' }, xml('item', { id: 'x' }, xml('a', { xmlns: 'urn:a' })))));
  const [e] = parseEvents(s, CTL);
  assert.deepEqual(e, { kind: 'item', topic: 't', id: 'x', payload: '<a xmlns="urn:a"/>' });
});

const cases: [string, ReturnType<typeof xml>, unknown[]][] = [
  ['retract', msg(xml('event', { xmlns: EV }, xml('items', { node: 't' }, xml('retract', { id: 'r1' })))),
    [{ kind: 'retract', topic: 't', id: 'r1' }]],
  ['subscription ended (§8.8.4)', msg(xml('event', { xmlns: EV }, xml('subscription', { node: 't', jid: 'soc1@grid.test', subid: 's1', subscription: 'none' }))),
    [{ kind: 'subscription-ended', topic: 't', jid: 'soc1@grid.test', subid: 's1' }]],
  ['delete', msg(xml('event', { xmlns: EV }, xml('delete', { node: 't' }))), [{ kind: 'delete', topic: 't' }]],
  ['account', msg(xml('account', { xmlns: 'urn:xmpp-grid:0', status: 'approved' }, xml('group', {}, 'soc'))),
    [{ kind: 'account', status: 'approved', groups: ['soc'] }]],
  ['subtopic created', msg(xml('subtopic', { xmlns: 'urn:xmpp-grid:0', action: 'created', node: 'ti~853495ea38be367e', parent: 'ti' },
    xml('x', { xmlns: 'jabber:x:data', type: 'result' },
      xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'urn:xmpp-grid:0#filter')),
      xml('field', { var: 'filter.type' }, xml('value', {}, 'indicator'), xml('value', {}, 'malware'))))),
    [{ kind: 'subtopic', action: 'created', node: 'ti~853495ea38be367e', parent: 'ti', filter: { type: ['indicator', 'malware'] } }]],
  ['subtopic deleted', msg(xml('subtopic', { xmlns: 'urn:xmpp-grid:0', action: 'deleted', node: 'ti~1', parent: 'ti' })),
    [{ kind: 'subtopic', action: 'deleted', node: 'ti~1', parent: 'ti' }]],
  ['subscription still active is no event', msg(xml('event', { xmlns: EV }, xml('subscription', { node: 't', subscription: 'subscribed' }))), []],
  ['a chat message', msg(xml('body', {}, 'hi')), []],
];
for (const [name, stanza, expected] of cases) {
  test(`parseEvents: ${name}`, () => assert.deepEqual(parseEvents(stanza, CTL), expected));
}

test('events from anyone but the controller are ignored (a node could forge them)', () => {
  const forged = xml('message', { from: 'mallory@grid.test/x' }, xml('account', { xmlns: 'urn:xmpp-grid:0', status: 'approved' }));
  assert.deepEqual(parseEvents(forged, CTL), []);
  const err = xml('message', { from: CTL, type: 'error' }, xml('account', { xmlns: 'urn:xmpp-grid:0', status: 'approved' }));
  assert.deepEqual(parseEvents(err, CTL), []);
});
