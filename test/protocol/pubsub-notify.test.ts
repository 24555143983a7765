// Outbound stanzas (PROTOCOL §5): event notifications with XEP-0131 headers last, one shared
// serialisation per cut, the §8.8.4 subscription end, retract/purge/delete, subtopic messages.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import {
  DOMAIN, NS, TOPIC, bundle, el, fieldValues, filterOptions, harness, indicator, jsonItem, malware, publishEl,
  pubsub, reparse, type Harness,
} from './pubsub-fixture.js';
import {
  deleteMessages, eventStanzas, makeNotifier, notificationFor, purgeMessages, retractMessages,
  subscriptionEndedMessage, subtopicMessage,
} from '../../src/xmpp/handlers/notify.js';
import { RawElement } from '../../src/xmpp/xmlnode.js';
import type { Subscription } from '../../src/topics/types.js';

const PROV = 'provider@grid.test/tip';
const A = 'node2@grid.test/a';
const B = 'node2@grid.test/b';

const headers = (m: Element) => Object.fromEntries((m.getChild('headers', NS.SHIM)?.getChildren('header') ?? []).map((x) => [x.attrs.name, x.getText()]));

describe('event notifications', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
    await h.iq(A, 'set', pubsub(xml('subscribe', { node: TOPIC, jid: A })));
    await h.iq(B, 'set', pubsub(xml('subscribe', { node: TOPIC, jid: B })));
    // B holds two subscriptions: its notifications need SubID
    await h.iq(B, 'set', pubsub(xml('subscribe', { node: TOPIC, jid: B }), filterOptions({ type: ['malware'] })));
    await h.iq(PROV, 'set', publishEl(TOPIC, jsonItem(bundle(indicator(), malware()), 'n1')));
  });
  after(() => h.close());

  test('shape: type normal, <items node><item id publisher><json/>, headers last, SubID only when needed', () => {
    const p = h.published[0]!;
    const msgs = makeNotifier(DOMAIN).build(p).map((m) => reparse(m.toString()));
    assert.equal(msgs.length, 3);
    for (const m of msgs) {
      assert.equal(m.attrs.from, DOMAIN);
      assert.equal(m.attrs.type, 'normal');
      assert.ok(m.attrs.id);
      const kids = m.getChildElements();
      assert.equal(kids[kids.length - 1]!.name, 'headers', 'headers are the last child');
      const items = m.getChild('event', NS.EVENT)!.getChild('items')!;
      assert.equal(items.attrs.node, TOPIC);
      const item = items.getChild('item')!;
      assert.deepEqual([item.attrs.id, item.attrs.publisher], ['n1', 'provider@grid.test']);
      assert.ok(item.getChild('json', NS.JSON));
      const hd = headers(m);
      assert.equal(hd['Grid-Seq'], String(p.item.seq));
      assert.equal(hd['Grid-Published'], p.item.published);
      assert.equal('SubID' in hd, m.attrs.to === B, `SubID for ${m.attrs.to}`);
    }
    const ids = new Set(msgs.map((m) => m.attrs.id));
    assert.equal(ids.size, 3, 'message ids differ');
    const filtered = msgs.find((m) => m.attrs.to === B && JSON.parse(m.getChild('event', NS.EVENT)!.getChild('items')!.getChild('item')!.getChild('json', NS.JSON)!.getText()).objects.length === 1);
    assert.ok(filtered, 'the filtered subscription gets the cut (malware only)');
  });

  test('recipients with the same cutKey share one serialisation; other cuts have their own', () => {
    const p = h.published[0]!;
    const msgs = makeNotifier(DOMAIN).build(p);
    const raw = (m: Element) => (m.getChildElements()[0] as RawElement).raw;
    const byKey = new Map<string, string[]>();
    p.deliveries.forEach((d, i) => byKey.set(d.cutKey, [...(byKey.get(d.cutKey) ?? []), raw(msgs[i]!)]));
    assert.equal(byKey.size, 2);
    const shared = [...byKey.values()].find((v) => v.length === 2)!;
    assert.ok(msgs[0]!.getChildElements()[0] instanceof RawElement);
    assert.equal(shared[0], shared[1], 'same string object');
    assert.notEqual(msgs[0]!.getChildElements()[0], msgs[1]!.getChildElements()[0], 'but no element with two parents');
    const other = [...byKey.values()].find((v) => v.length === 1)![0]!;
    assert.notEqual(other, shared[0]);
  });

  test('notificationFor builds the same shape on its own; headline when the topic says so', () => {
    const p = h.published[0]!;
    const m = reparse(notificationFor(DOMAIN, TOPIC, p.deliveries[0]!, p.item, p.topic.contentType, 'headline').toString());
    assert.equal(m.attrs.type, 'headline');
    assert.equal(m.getChildElements()[1]!.name, 'headers');
  });

  test('XML payloads are embedded as stored (namespace included), no re-parse needed', async () => {
    await h.iq(A, 'set', pubsub(xml('subscribe', { node: 'threat-intel/iodef', jid: A })));
    const doc = `<IODEF-Document xmlns="${NS.IODEF}" version="2.00"><Incident purpose="reporting"><IncidentID name="c.example">7 &amp; 8</IncidentID><GenerationTime>2015-07-18T09:00:00Z</GenerationTime><Contact type="organization" role="creator"/></Incident></IODEF-Document>`;
    await h.iq(PROV, 'set', pubsub(xml('publish', { node: 'threat-intel/iodef' }, xml('item', { id: 'x1' }, reparse(doc)))));
    const p = h.published[h.published.length - 1]!;
    const [m] = makeNotifier(DOMAIN).build(p);
    const back = reparse(m!.toString());
    const payload = back.getChild('event', NS.EVENT)!.getChild('items')!.getChild('item')!.getChildElements()[0]!;
    assert.equal(payload.name, 'IODEF-Document');
    assert.equal(payload.getNS(), NS.IODEF);
    assert.equal(payload.getChild('Incident')!.getChildText('IncidentID'), '7 & 8');
  });
});

describe('control messages', () => {
  const sub = (jid: string, subid: string): Subscription => ({ subid, topic: TOPIC, jid, owner: jid.split('/')[0]!, filter: null, subtopic: null, createdAt: '2024-01-01T00:00:00Z' });

  test('§8.8.4 subscription ended: subscription=none with node, jid, subid', () => {
    const m = reparse(subscriptionEndedMessage(DOMAIN, sub(A, 's1')).toString());
    const s = m.getChild('event', NS.EVENT)!.getChild('subscription')!;
    assert.deepEqual([m.attrs.to, s.attrs.node, s.attrs.jid, s.attrs.subid, s.attrs.subscription], [A, TOPIC, A, 's1', 'none']);
  });

  test('retract per subscription (SubID when one JID holds two); purge and delete once per JID', () => {
    const subs = [sub(A, 's1'), sub(B, 's2'), sub(B, 's3')];
    const r = retractMessages(DOMAIN, TOPIC, 'i9', subs);
    assert.equal(r.length, 3);
    assert.equal(r[0]!.getChild('event', NS.EVENT)!.getChild('items')!.getChild('retract')!.attrs.id, 'i9');
    assert.equal(r[0]!.getChild('headers', NS.SHIM), undefined);
    assert.deepEqual(headers(r[2]!), { SubID: 's3' });
    const pu = purgeMessages(DOMAIN, TOPIC, subs);
    assert.deepEqual(pu.map((m) => m.attrs.to), [A, B]);
    assert.equal(pu[0]!.getChild('event', NS.EVENT)!.getChild('purge')!.attrs.node, TOPIC);
    const de = deleteMessages(DOMAIN, TOPIC, subs);
    assert.equal(de[1]!.getChild('event', NS.EVENT)!.getChild('delete')!.attrs.node, TOPIC);
  });

  test('subtopic created carries the #filter form; deleted carries node and parent only', () => {
    const view = { node: `${TOPIC}~853495ea38be367e`, parent: TOPIC, filter: { min_confidence: ['70'], tlp: ['clear', 'green'], type: ['indicator', 'malware'] }, subscribers: 1 };
    const c = el(subtopicMessage(DOMAIN, 'provider@grid.test', { action: 'created', subtopic: view })).getChild('subtopic', NS.GRID)!;
    assert.deepEqual([c.attrs.action, c.attrs.node, c.attrs.parent], ['created', view.node, TOPIC]);
    const x = c.getChild('x', NS.DATA)!;
    assert.equal(x.attrs.type, 'result');
    assert.deepEqual(fieldValues(x, 'FORM_TYPE'), ['urn:xmpp-grid:0#filter']);
    assert.deepEqual(fieldValues(x, 'filter.type'), ['indicator', 'malware']);
    const d = subtopicMessage(DOMAIN, 'provider@grid.test', { action: 'deleted', subtopic: view }).getChild('subtopic', NS.GRID)!;
    assert.equal(d.getChildElements().length, 0);
    assert.deepEqual(Object.keys(d.attrs).sort(), ['action', 'node', 'parent', 'xmlns']);
  });

  test('eventStanzas maps every TopicEvent kind', () => {
    const ev = eventStanzas(DOMAIN);
    const view = { node: `${TOPIC}~0123456789abcdef`, parent: TOPIC, filter: { type: ['malware'] }, subscribers: 1 };
    assert.deepEqual(ev.forEvent({ kind: 'subtopic', action: 'created', subtopic: view, publishers: ['p1@grid.test', 'p2@grid.test'] }).map((m) => m.attrs.to), ['p1@grid.test', 'p2@grid.test']);
    assert.equal(ev.forEvent({ kind: 'subscription-ended', subscription: sub(A, 's1'), reason: 'policy' }).length, 1);
    assert.equal(ev.forEvent({ kind: 'topic-deleted', topic: TOPIC, subscriptions: [sub(A, 's1'), sub(A, 's2')] }).length, 1);
  });
});
