// A publish that reaches the core through no XMPP handler at all (as the TAXII door's does:
// JSON text) is delivered to XMPP subscribers by the XMPP door's broadcast, cut per TLP cap;
// whole stanzas compared as XEP-0060 §7.1.2.1's example reads.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { silentLogger } from '../../src/log.js';
import { isFail } from '../../src/result.js';
import { Outbox } from '../../src/xmpp/outbox.js';
import { Multicast } from '../../src/xmpp/multicast.js';
import { installBroadcast } from '../../src/xmpp/broadcast.js';
import type { ComponentLink } from '../../src/xmpp/component.js';
import { ACCOUNTS, DOMAIN, NS, TLP_GREEN, TLP_RED, TOPIC, bundle, harness, indicator, pubsub, reparse, type Harness } from './pubsub-fixture.js';

const SOC = 'node2@grid.test';
const PARTNER = 'partner@grid.test';
const PROV = ACCOUNTS['provider@grid.test']!;

/** The link's two faces the outbox uses: what would go on the wire is kept here. */
function wire(): { link: ComponentLink; stanzas: () => Element[] } {
  let raw = '';
  const link = { serialise: (el: Element) => el.toString(), writeRaw: async (s: string) => void (raw += s), oversized: 0 };
  return { link: link as unknown as ComponentLink, stanzas: () => reparse(`<w>${raw}</w>`).getChildElements() };
}

describe('the core broadcasts, the XMPP door delivers', () => {
  let h: Harness;
  let w: ReturnType<typeof wire>;
  let outbox: Outbox;
  before(async () => {
    h = await harness();
    w = wire();
    outbox = new Outbox(w.link, silentLogger());
    const multicast = new Multicast({ mode: 'off', stanzaBytes: 491520, log: silentLogger(), disco: { info: async () => ({ features: [] }), items: async () => [] } });
    installBroadcast({ events: h.items.events, domain: DOMAIN, outbox, multicast });
    await h.iq(`${SOC}/siem`, 'set', pubsub(xml('subscribe', { node: TOPIC, jid: SOC })));
    await h.iq(`${PARTNER}/x`, 'set', pubsub(xml('subscribe', { node: TOPIC, jid: PARTNER })));
  });
  after(() => h.close());

  test('JSON text published through the core alone: each subscriber gets its cut as a whole XEP-0060 notification', async () => {
    const green = indicator({ object_marking_refs: [TLP_GREEN] });
    const red = indicator({ object_marking_refs: [TLP_RED] });
    const text = JSON.stringify(bundle(green, red));
    const r = await h.items.publish(PROV, TOPIC, 'taxii-1', { kind: 'json', text });
    assert.ok(!isFail(r), JSON.stringify(r));
    await outbox.drain();
    const got = w.stanzas();
    assert.deepEqual(got.map((m) => m.attrs.to).sort(), [SOC, PARTNER]);
    const soc = got.find((m) => m.attrs.to === SOC)!;
    const expected = xml('message', { from: DOMAIN, to: SOC, type: 'normal', id: soc.attrs.id! },
      xml('event', { xmlns: NS.EVENT },
        xml('items', { node: TOPIC },
          xml('item', { id: 'taxii-1', publisher: 'provider@grid.test' }, xml('json', { xmlns: NS.JSON }, text)))),
      xml('headers', { xmlns: NS.SHIM },
        xml('header', { name: 'Grid-Seq' }, String(r.value.item.seq)),
        xml('header', { name: 'Grid-Published' }, r.value.item.published)));
    assert.equal(soc.toString(), reparse(expected.toString()).toString());
    const partner = got.find((m) => m.attrs.to === PARTNER)!;
    const cut = JSON.parse(partner.getChild('event', NS.EVENT)!.getChild('items')!.getChild('item')!.getChild('json', NS.JSON)!.getText()) as { objects: { id: string }[] };
    assert.deepEqual(cut.objects.map((o) => o.id), [green.id], 'GREEN cap: the RED object is cut away');
  });

  test('a retract through the core with notify: <retract id/> to every subscriber, without notify: nothing', async () => {
    const before = w.stanzas().length;
    assert.ok(!isFail(await h.items.retract(PROV, TOPIC, 'taxii-1', { notify: true })));
    await outbox.drain();
    const got = w.stanzas().slice(before);
    const soc = got.find((m) => m.attrs.to === SOC)!;
    const expected = xml('message', { from: DOMAIN, to: SOC, type: 'normal', id: soc.attrs.id! },
      xml('event', { xmlns: NS.EVENT }, xml('items', { node: TOPIC }, xml('retract', { id: 'taxii-1' }))));
    assert.equal(soc.toString(), reparse(expected.toString()).toString());
    assert.deepEqual(got.map((m) => m.attrs.to).sort(), [SOC, PARTNER]);
    const r = await h.items.publish(PROV, TOPIC, 'taxii-2', { kind: 'json', text: JSON.stringify(indicator()) });
    assert.ok(!isFail(r));
    await outbox.drain();
    const n = w.stanzas().length;
    assert.ok(!isFail(await h.items.retract(PROV, TOPIC, 'taxii-2')));
    await outbox.drain();
    assert.equal(w.stanzas().length, n, 'no notify, no notification');
  });
});
