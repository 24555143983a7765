import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { Multicast, NS_ADDRESS, type Fanout } from '../../src/xmpp/multicast.js';
import { silentLogger } from '../../src/log.js';

let n = 0;
function fanout(recipients: string[], bytes = 1000): Fanout {
  return {
    recipients, bytes,
    build: (to: string, first?: Element) => xml('message', { from: 'controller.grid.test', to, id: `m${++n}` }, ...(first ? [first] : []), xml('body', {}, 'x')),
  };
}

function make(features: string[] | Error, o: { mode?: 'auto' | 'off'; stanzaBytes?: number; maxAddresses?: number } = {}) {
  const asked: string[] = [];
  const m = new Multicast({
    mode: o.mode ?? 'auto', stanzaBytes: o.stanzaBytes ?? 491520, maxAddresses: o.maxAddresses ?? 500, log: silentLogger(),
    disco: {
      info: async (host: string) => {
        asked.push(host);
        if (features instanceof Error) throw features;
        return { features };
      },
      items: async () => [],
    },
  });
  return { m, asked };
}

const addressesOf = (el: Element) => el.getChild('addresses', NS_ADDRESS)?.getChildren('address').map((a) => a.attrs.jid as string) ?? [];
const subs = (count: number, host = 'grid.test') => Array.from({ length: count }, (_, i) => `s${i}@${host}/r`);

test('until the server has answered, and where it offers nothing, one message per recipient', async () => {
  const { m, asked } = make(['urn:other']);
  const r = m.expand([fanout(subs(3))]);
  assert.equal(r.stanzas.length, 3);
  assert.equal(r.deliveries, 3);
  assert.deepEqual(asked, ['grid.test'], 'the first group asks the host once');
  assert.equal(await m.whenKnown('grid.test'), false);
  assert.equal(m.expand([fanout(subs(3))]).stanzas.length, 3);
  assert.deepEqual(asked, ['grid.test'], 'not asked again');
});

test('where the server offers XEP-0033: one message to the host with bcc addresses, cut by the address limit', async () => {
  const { m } = make([NS_ADDRESS], { maxAddresses: 4 });
  m.expand([fanout(subs(2))]);
  assert.equal(await m.whenKnown('grid.test'), true);
  const r = m.expand([fanout(subs(10)), xml('message', { to: 'one@grid.test' })]);
  assert.equal(r.deliveries, 11, 'the backpressure weight counts deliveries, not messages');
  assert.deepEqual(r.stanzas.map((s) => s.attrs.to), ['grid.test', 'grid.test', 'grid.test', 'one@grid.test']);
  assert.deepEqual(r.stanzas.slice(0, 3).map((s) => addressesOf(s).length), [4, 4, 2]);
  assert.equal(r.stanzas[0]!.getChildElements()[0]!.name, 'addresses', 'addresses first: the server strips them, the headers stay last');
  assert.ok(r.stanzas[0]!.getChild('addresses', NS_ADDRESS)!.getChildren('address').every((a) => a.attrs.type === 'bcc'));
  assert.equal(m.messages, 3);
  assert.equal(m.copies, 10);
});

test('address lists stay under the stanza limit; a payload too big for two addresses goes one by one', async () => {
  const { m } = make([NS_ADDRESS], { stanzaBytes: 2000 });
  await m.whenKnown('grid.test');
  const r = m.expand([fanout(subs(30), 500)]);
  for (const s of r.stanzas) assert.ok(s.toString().length < 2000, `${s.toString().length} bytes`);
  assert.equal(r.stanzas.reduce((a, s) => a + (addressesOf(s).length || 1), 0), 30, 'every recipient once');
  const big = m.expand([fanout(subs(5), 1960)]);
  assert.deepEqual(big.stanzas.map((s) => addressesOf(s).length), [0, 0, 0, 0, 0]);
});

test('recipients on different hosts are grouped per host; a lone recipient gets a plain message', async () => {
  const { m, asked } = make([NS_ADDRESS]);
  await m.whenKnown('a.test');
  await m.whenKnown('b.test');
  const r = m.expand([fanout([...subs(3, 'a.test'), ...subs(1, 'b.test')])]);
  assert.deepEqual(r.stanzas.map((s) => s.attrs.to), ['a.test', 's0@b.test/r']);
  assert.deepEqual(asked.sort(), ['a.test', 'b.test']);
});

test('mode off, a failed probe, or a single recipient: never multicast', async () => {
  const off = make([NS_ADDRESS], { mode: 'off' });
  assert.equal(await off.m.whenKnown('grid.test'), false);
  assert.equal(off.m.expand([fanout(subs(5))]).stanzas.length, 5);
  assert.deepEqual(off.asked, []);
  const broken = make(new Error('timeout'));
  assert.equal(await broken.m.whenKnown('grid.test'), false);
  assert.equal(broken.m.expand([fanout(subs(5))]).stanzas.length, 5);
});

test('a refusal from the host turns multicast off there and gives back one message per recipient; reset asks again', async () => {
  const { m, asked } = make([NS_ADDRESS]);
  await m.whenKnown('grid.test');
  const [sent] = m.expand([fanout(subs(3))]).stanzas;
  const bounce = (from: string, id: string) => xml('message', { from, to: 'controller.grid.test', type: 'error', id }, xml('error', { type: 'auth' }, xml('forbidden', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' })));
  assert.equal(m.onError(bounce('s0@grid.test/r', sent!.attrs.id)), null, 'a recipient bounce is not a refusal');
  assert.equal(m.onError(bounce('grid.test', 'unknown')), null);
  const resend = m.onError(bounce('grid.test', sent!.attrs.id))!;
  assert.deepEqual(resend.map((s) => s.attrs.to), subs(3));
  assert.equal(m.fallbacks, 3);
  assert.equal(m.offers('grid.test'), false);
  assert.equal(m.expand([fanout(subs(3))]).stanzas.length, 3);
  m.reset();
  assert.equal(await m.whenKnown('grid.test'), true);
  assert.equal(asked.length, 2);
});

test('one message per recipient keeps the order of fan-outs and single messages', () => {
  const out = make([NS_ADDRESS], { mode: 'off' }).m.expand([fanout(['a@x', 'b@x']), xml('message', { to: 'c@x' })]).stanzas;
  assert.deepEqual(out.map((s) => s.attrs.to), ['a@x', 'b@x', 'c@x']);
});
