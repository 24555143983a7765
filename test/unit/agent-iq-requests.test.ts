// The agent's IQ requests: a reply that arrives before the write's callback (the server
// answers at once when the controller is down) reaches its caller; nothing is ever left as
// an unhandled rejection; a lost stream fails what waits at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import xml from '@xmpp/xml';
import type { Element } from '@xmpp/xml';
import { IqRequests } from '../../src/agent/iq-requests.js';
import { StanzaError } from '../../src/agent/stanza-error.js';

const errorReply = (id: string): Element => xml('iq', { type: 'error', id, from: 'controller.grid.test' },
  xml('error', { type: 'cancel' },
    xml('remote-server-timeout', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }),
    xml('text', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }, 'Component unavailable')));

/** Runs `fn` and returns the unhandled rejections seen until two turns of the event loop later. */
async function unhandledDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown) => { seen.push(reason); };
  process.on('unhandledRejection', onUnhandled);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return seen;
}

test('50 error replies that overtake their writes: each reaches its caller as a StanzaError, none unhandled', async () => {
  // The write's callback comes a turn of the event loop after the reply has been routed.
  const sent: Element[] = [];
  const requests = new IqRequests(async (el) => { sent.push(el); await new Promise((r) => setTimeout(r, 20)); });
  const outcomes: PromiseSettledResult<Element>[] = [];
  const unhandled = await unhandledDuring(async () => {
    const settled = Promise.allSettled(Array.from({ length: 50 }, (_, i) => requests.request(xml('iq', { type: 'set', to: 'controller.grid.test', id: `q${i}` }), 5_000)));
    for (const el of sent) assert.equal(requests.route(errorReply(el.attrs.id as string)), true);
    outcomes.push(...await settled);
  });
  assert.deepEqual(unhandled, []);
  assert.equal(outcomes.length, 50);
  for (const o of outcomes) {
    assert.equal(o.status, 'rejected');
    const err = (o as PromiseRejectedResult).reason as StanzaError;
    assert.ok(err instanceof StanzaError);
    assert.equal(err.condition, 'remote-server-timeout');
    assert.equal(err.text, 'Component unavailable');
  }
  assert.equal(requests.size, 0);
});

test('a result reply resolves; replies for unknown ids and other stanzas pass on', async () => {
  const requests = new IqRequests(async () => undefined);
  const p = requests.request(xml('iq', { type: 'get', id: 'a1' }), 5_000);
  assert.equal(requests.route(xml('iq', { type: 'result', id: 'zz' })), false);
  assert.equal(requests.route(xml('message', { id: 'a1' })), false);
  assert.equal(requests.route(xml('iq', { type: 'get', id: 'a1' })), false, 'a request with the same id is not a reply');
  assert.equal(requests.route(xml('iq', { type: 'result', id: 'a1' })), true);
  assert.equal((await p).attrs.type, 'result');
});

test('a lost stream fails every waiting request at once; a timeout and a failed write are errors too', async () => {
  const requests = new IqRequests(async () => undefined);
  const waiting = [1, 2, 3].map((i) => requests.request(xml('iq', { type: 'get', id: `w${i}` }), 60_000));
  requests.failAll(new Error('the server closed the stream (policy-violation)'));
  for (const w of waiting) await assert.rejects(w, /closed the stream \(policy-violation\)/);
  await assert.rejects(requests.request(xml('iq', { type: 'get' }), 10), { name: 'TimeoutError', message: /no reply within 10 ms/ });
  const failing = new IqRequests(async () => { throw new Error('socket gone'); });
  await assert.rejects(failing.request(xml('iq', { type: 'get' }), 5_000), /socket gone/);
  assert.equal(failing.size, 0);
});
