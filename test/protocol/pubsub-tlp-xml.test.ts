// TLP caps on XML payloads (PROTOCOL §5 "Marking-based release"): a partner capped at
// TLP:GREEN, subscribed to an IODEF topic, is notified of the green incident only and of
// nothing for an all-red document; the §7 query and items retrieval answer the same cut.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { DOMAIN, NS, el, form, harness, pubsub, reparse, type Harness } from './pubsub-fixture.js';
import { makeNotifier } from '../../src/xmpp/handlers/notify.js';

const PROV = 'provider@grid.test/tip';
const SOC = 'node2@grid.test/siem';
const PARTNER = 'partner@grid.test/x';
const IODEF_TOPIC = 'threat-intel/iodef';

const incident = (id: string, restriction: string) =>
  `<Incident purpose="reporting" restriction="${restriction}"><IncidentID name="csirt.example">${id}</IncidentID>` +
  '<GenerationTime>2015-07-18T09:00:00Z</GenerationTime><Contact type="organization" role="creator"/></Incident>';
const iodef = (...incidents: string[]) => `<IODEF-Document xmlns="${NS.IODEF}" version="2.00">${incidents.join('')}</IODEF-Document>`;

/** IncidentIDs in a payload element (an IODEF-Document). */
const incidentIds = (doc: Element) => doc.getChildren('Incident').map((i) => i.getChildText('IncidentID') ?? '');

/** An answer as a node reads it off the wire (stored payloads are pre-serialised parts). */
const wire = (r: Element | true) => reparse(el(r).toString());

/** The notification each subscriber receives for the last publish, read back from the wire. */
function notified(h: Harness): Map<string, string[]> {
  const p = h.published[h.published.length - 1]!;
  const out = new Map<string, string[]>();
  for (const m of makeNotifier(DOMAIN).build(p)) {
    const back = reparse(m.toString());
    const doc = back.getChild('event', NS.EVENT)!.getChild('items')!.getChild('item')!.getChildElements()[0]!;
    out.set(back.attrs.to!, incidentIds(doc));
  }
  return out;
}

const queryEl = (fields: Record<string, string[]>) =>
  xml('query', { xmlns: NS.GRID, node: IODEF_TOPIC }, form('submit', 'urn:xmpp-grid:0#query', fields));

describe('IODEF under a GREEN cap', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
    for (const jid of [SOC, PARTNER]) el(await h.iq(jid, 'set', pubsub(xml('subscribe', { node: IODEF_TOPIC, jid }))));
  });
  after(() => h.close());

  test('notifications: the partner gets the green incident only; nothing at all for an all-red document', async () => {
    el(await h.iq(PROV, 'set', pubsub(xml('publish', { node: IODEF_TOPIC }, xml('item', { id: 'mixed' }, reparse(iodef(incident('g-1', 'green'), incident('r-1', 'red'))))))));
    assert.deepEqual(Object.fromEntries(notified(h)), { [SOC]: ['g-1', 'r-1'], [PARTNER]: ['g-1'] });

    el(await h.iq(PROV, 'set', pubsub(xml('publish', { node: IODEF_TOPIC }, xml('item', { id: 'red' }, reparse(iodef(incident('r-2', 'red'), incident('r-3', 'private'))))))));
    assert.deepEqual(Object.fromEntries(notified(h)), { [SOC]: ['r-2', 'r-3'] });
  });

  test('§7 query: the same cut; the all-red document is left out and not counted', async () => {
    const r = wire(await h.iq(PARTNER, 'get', queryEl({ after_seq: ['0'] })));
    assert.deepEqual(r.getChildren('item').map((i) => i.attrs.id), ['mixed']);
    assert.deepEqual(incidentIds(r.getChild('item')!.getChildElements()[0]!), ['g-1']);
    assert.equal(r.getChild('set', NS.RSM)!.getChildText('count'), '1');
    const soc = wire(await h.iq(SOC, 'get', queryEl({ after_seq: ['0'] })));
    assert.deepEqual(soc.getChildren('item').map((i) => incidentIds(i.getChildElements()[0]!)), [['g-1', 'r-1'], ['r-2', 'r-3']]);
  });

  test('XEP-0060 items retrieval: the same cut', async () => {
    const r = wire(await h.iq(PARTNER, 'get', pubsub(xml('items', { node: IODEF_TOPIC }))));
    const items = r.getChild('items')!.getChildren('item');
    assert.deepEqual(items.map((i) => i.attrs.id), ['mixed']);
    assert.deepEqual(incidentIds(items[0]!.getChildElements()[0]!), ['g-1']);
  });
});
