// XEP-0033 §2.2 discovery (the host, else its disco#items), the advertised address limit
// (XEP-0128 form, as ejabberd's mod_multicast sends it), and learning from not-acceptable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { Multicast, type Fanout } from '../../src/xmpp/multicast.js';
import { NS_ADDRESS, UNADVERTISED_LIMIT, discoverMulticast, parseDiscoInfo, type DiscoInfo } from '../../src/xmpp/multicast-discovery.js';
import { silentLogger } from '../../src/log.js';

const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
let n = 0;
const fanout = (recipients: string[]): Fanout => ({
  recipients, bytes: 500,
  build: (to: string, first?: Element) => xml('message', { from: 'controller.grid.test', to, id: `d${++n}` }, ...(first ? [first] : []), xml('body', {}, 'x')),
});
const subs = (count: number) => Array.from({ length: count }, (_, i) => `s${i}@grid.test/r`);
const addressesOf = (el: Element) => el.getChild('addresses', NS_ADDRESS)?.getChildren('address').map((a) => a.attrs.jid as string) ?? [];

/** ejabberd's shape: the domain has no feature; multicast.<domain> is one of its items. */
function ejabberdDisco(limit?: number) {
  const infos: Record<string, DiscoInfo> = {
    'grid.test': { features: ['http://jabber.org/protocol/disco#info'] },
    'controller.grid.test': { features: [] },
    'multicast.grid.test': { features: [NS_ADDRESS], ...(limit ? { limit } : {}) },
  };
  return {
    info: async (jid: string) => {
      const i = infos[jid];
      if (!i) throw new Error(`no ${jid}`);
      return i;
    },
    items: async (jid: string) => (jid === 'grid.test' ? ['controller.grid.test', 'elsewhere.example', 'multicast.grid.test'] : []),
  };
}

const refusal = (m: Element, condition: string, from = 'multicast.grid.test') =>
  xml('message', { from, to: 'controller.grid.test', type: 'error', id: m.attrs.id }, xml('error', { type: 'modify' }, xml(condition, { xmlns: STANZAS })));

/** Every recipient exactly once over `stanzas` (addresses of a multicast, or the `to` of a single). */
function deliveredTo(stanzas: Element[]): string[] {
  return stanzas.flatMap((s) => (addressesOf(s).length ? addressesOf(s) : [s.attrs.to as string])).sort();
}

test('a form in disco#info gives the limit; without one there is none', () => {
  const info = xml('iq', { type: 'result' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' },
    xml('feature', { var: NS_ADDRESS }),
    xml('x', { xmlns: 'jabber:x:data', type: 'result' }, xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS_ADDRESS)),
      xml('field', { var: 'message' }, xml('value', {}, '1000')))));
  assert.deepEqual(parseDiscoInfo(info), { features: [NS_ADDRESS], limit: 1000 });
  const bare = xml('iq', { type: 'result' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }, xml('feature', { var: NS_ADDRESS })));
  assert.deepEqual(parseDiscoInfo(bare), { features: [NS_ADDRESS] });
});

test('§2.2: the host itself first, else the item of the host that offers the feature (never a foreign one)', async () => {
  assert.deepEqual(await discoverMulticast('grid.test', ejabberdDisco(1000)), { jid: 'multicast.grid.test', limit: 1000, advertised: true });
  assert.deepEqual(await discoverMulticast('grid.test', ejabberdDisco()), { jid: 'multicast.grid.test', limit: UNADVERTISED_LIMIT, advertised: false });
  const own = { info: async () => ({ features: [NS_ADDRESS], limit: 7 }), items: async () => { throw new Error('not asked'); } };
  assert.deepEqual(await discoverMulticast('grid.test', own), { jid: 'grid.test', limit: 7, advertised: true });
  const none = { info: async () => ({ features: [] }), items: async () => ['pubsub.grid.test'] };
  assert.equal(await discoverMulticast('grid.test', none), undefined);
});

test('multicasts go to the service found in disco#items, cut at its advertised limit', async () => {
  const m = new Multicast({ mode: 'auto', stanzaBytes: 491520, log: silentLogger(), disco: ejabberdDisco(30) });
  assert.equal(await m.whenKnown('grid.test'), true);
  const { stanzas, deliveries } = m.expand([fanout(subs(70))]);
  assert.equal(deliveries, 70);
  assert.deepEqual(stanzas.map((s) => s.attrs.to), ['multicast.grid.test', 'multicast.grid.test', 'multicast.grid.test']);
  assert.deepEqual(stanzas.map((s) => addressesOf(s).length), [30, 30, 10]);
  assert.deepEqual(deliveredTo(stanzas), subs(70).sort());
});

test('no advertised limit: 20 a message; not-acceptable halves it and re-sends exactly those recipients', async () => {
  const m = new Multicast({ mode: 'auto', stanzaBytes: 491520, log: silentLogger(), disco: ejabberdDisco() });
  await m.whenKnown('grid.test');
  const first = m.expand([fanout(subs(45))]).stanzas;
  assert.deepEqual(first.map((s) => addressesOf(s).length), [20, 20, 5]);
  // The service takes 5 but refuses 20 (its limit is, say, 8).
  const resent = m.onError(refusal(first[0]!, 'not-acceptable'))!;
  assert.deepEqual(resent.map((s) => addressesOf(s).length), [10, 10]);
  assert.deepEqual(deliveredTo(resent), addressesOf(first[0]!).sort(), 'the refused recipients, each once');
  assert.equal(m.serviceOf('grid.test')?.limit, 10);
  const again = m.onError(refusal(resent[0]!, 'not-acceptable'))!;
  assert.deepEqual(again.map((s) => addressesOf(s).length), [5, 5]);
  assert.equal(m.onError(refusal(first[1]!, 'not-acceptable'))!.length, 4, 'a later refusal of an older list of 20 cuts it at the limit learnt (the same 20, each once)');
  assert.equal(m.serviceOf('grid.test')?.limit, 5);
  assert.deepEqual(m.expand([fanout(subs(12))]).stanzas.map((s) => addressesOf(s).length), [5, 5, 2]);
  assert.equal(m.fallbacks, 0, 'no one-by-one fallback while lists can shrink');
});

test('refused at 2 or 3 addresses, or refused otherwise: one message per recipient and multicast off', async () => {
  const m = new Multicast({ mode: 'auto', stanzaBytes: 491520, log: silentLogger(), disco: ejabberdDisco(3) });
  await m.whenKnown('grid.test');
  const [sent] = m.expand([fanout(subs(3))]).stanzas;
  assert.equal(m.onError(refusal(sent!, 'not-acceptable', 'grid.test')), null, 'an error from another JID is not the service refusing');
  const singles = m.onError(refusal(sent!, 'not-acceptable'))!;
  assert.deepEqual(singles.map((s) => s.attrs.to), subs(3));
  assert.equal(m.offers('grid.test'), false);
  assert.equal(m.fallbacks, 3);
});
