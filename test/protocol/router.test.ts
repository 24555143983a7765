// Stanza in → stanza out for the router and the controller's own disco#info (PROTOCOL §1, §3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import { Router } from '../../src/xmpp/router.js';
import { Disco, installPing } from '../../src/xmpp/handlers/disco.js';
import { errorElement } from '../../src/xmpp/errors.js';
import { fail } from '../../src/result.js';
import { silentLogger } from '../../src/log.js';
import { isOurs } from '../../src/xmpp/component.js';

const FROM = 'node1@grid.test/siem';
function iq(type: 'get' | 'set', child: ReturnType<typeof xml>) {
  return xml('iq', { type, id: 'x1', from: FROM, to: 'controller.grid.test' }, child);
}
function setup() {
  const router = new Router(silentLogger());
  const disco = new Disco();
  let gateAnswer: ReturnType<typeof fail> | null = fail('registration-required');
  router.setGate(() => gateAnswer);
  disco.install(router, () => gateAnswer);
  installPing(router, disco);
  return { router, disco, setGate: (g: typeof gateAnswer) => (gateAnswer = g) };
}
async function dispatch(router: Router, type: 'get' | 'set', child: ReturnType<typeof xml>) {
  const st = iq(type, child);
  return router.dispatchIq(type, st, st.getChildElements()[0]!);
}
async function dispatchEl(router: Router, type: 'get' | 'set', child: ReturnType<typeof xml>) {
  const r = await dispatch(router, type, child);
  assert.ok(r !== true, 'expected an element');
  return r;
}

test('disco#info on the controller is exempt from the gate and lists identities and features', async () => {
  const { router } = setup();
  const r = await dispatch(router, 'get', xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }));
  assert.ok(r && r !== true);
  assert.equal(r.name, 'query');
  const ids = r.getChildren('identity').map((i) => `${i.attrs.category}/${i.attrs.type}`);
  assert.deepEqual(ids, ['pubsub/service', 'component/generic']);
  const features = r.getChildren('feature').map((f) => f.attrs.var);
  assert.ok(features.includes('http://jabber.org/protocol/disco#info'));
  assert.ok(features.includes('urn:xmpp:ping'));
});

test('ping is exempt; disco#items is gated with the §1 error', async () => {
  const { router } = setup();
  assert.equal(await dispatch(router, 'get', xml('ping', { xmlns: 'urn:xmpp:ping' })), true, 'true = empty result');
  const r = await dispatch(router, 'get', xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' }));
  assert.ok(r !== true);
  assert.equal(r?.name, 'error');
  assert.equal(r?.attrs.type, 'auth');
  assert.ok(r?.getChild('registration-required', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
});

test('an unknown payload namespace gets service-unavailable', async () => {
  const { router } = setup();
  const r = await dispatchEl(router, 'get', xml('query', { xmlns: 'urn:example:nothing' }));
  assert.equal(r?.attrs.type, 'cancel');
  assert.ok(r?.getChild('service-unavailable', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
});

test('a handler that throws becomes internal-server-error, never silence', async () => {
  const { router } = setup();
  router.iq('get', 'urn:example:boom', 'q', () => {
    throw new Error('boom');
  }, { exempt: true });
  const r = await dispatchEl(router, 'get', xml('q', { xmlns: 'urn:example:boom' }));
  assert.ok(r?.getChild('internal-server-error', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
});

test('registering a route twice is a programming error', () => {
  const { router } = setup();
  assert.throws(() => router.iq('get', 'urn:xmpp:ping', 'ping', () => true), /registered twice/);
});

test('error registry: application conditions of §1 and XEP-0060', () => {
  const pending = errorElement(fail('account-pending'));
  assert.equal(pending.attrs.type, 'auth');
  assert.ok(pending.getChild('forbidden', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
  assert.ok(pending.getChild('account-pending', 'urn:xmpp-grid:0'));
  const closed = errorElement(fail('closed-node', 'not for you'));
  assert.equal(closed.attrs.type, 'cancel');
  assert.ok(closed.getChild('not-allowed', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
  assert.ok(closed.getChild('closed-node', 'http://jabber.org/protocol/pubsub#errors'));
  assert.equal(closed.getChildText('text', 'urn:ietf:params:xml:ns:xmpp-stanzas'), 'not for you');
  const big = errorElement(fail('payload-too-big'));
  assert.equal(big.attrs.type, 'modify');
  assert.ok(big.getChild('payload-too-big', 'http://jabber.org/protocol/pubsub#errors'));
});

test('only stanzas from our own domain may leave', () => {
  assert.equal(isOurs('controller.grid.test', 'controller.grid.test'), true);
  assert.equal(isOurs('x@controller.grid.test/r', 'controller.grid.test'), true);
  assert.equal(isOurs('grid.test', 'controller.grid.test'), false);
  assert.equal(isOurs('evil@grid.test', 'controller.grid.test'), false);
});
