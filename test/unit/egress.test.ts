// The egress check: nothing over limits.stanza_bytes or from outside our domain is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import { Egress } from '../../src/xmpp/egress.js';
import { silentLogger } from '../../src/log.js';

const D = 'controller.grid.test';
const LIMIT = 4096;

test('a stanza within the limit is written as it is, stamped with our domain', () => {
  const e = new Egress(D, LIMIT, silentLogger());
  const text = e.serialise(xml('message', { to: 'n@grid.test' }, xml('body', {}, 'hello')));
  assert.equal(text, `<message to="n@grid.test" from="${D}"><body>hello</body></message>`);
  assert.equal(e.oversized, 0);
});

test('an IQ answer over the limit becomes a small modify/not-acceptable error that does not echo the answer', () => {
  const e = new Egress(D, LIMIT, silentLogger());
  const answer = xml('iq', { type: 'result', to: 'n@grid.test/r', id: 'q1' }, xml('query', { xmlns: 'urn:xmpp-grid:0' }, 'x'.repeat(LIMIT)));
  const text = e.serialise(answer)!;
  assert.ok(Buffer.byteLength(text) < 1024, text);
  assert.match(text, /^<iq type="error" from="controller\.grid\.test" to="n@grid\.test\/r" id="q1"><error type="modify"><not-acceptable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">the answer \(\d+ bytes\) exceeds the stream limit limits\.stanza_bytes \(4096\)/);
  assert.equal(e.oversized, 1);
  // An error answer that would echo a huge request is replaced the same way.
  assert.match(e.serialise(xml('iq', { type: 'error', to: 'n@grid.test', id: 'q2' }, xml('pubsub', {}, 'y'.repeat(LIMIT))))!, /not-acceptable/);
});

test('multi-byte characters count as UTF-8 bytes, not as string length', () => {
  const e = new Egress(D, LIMIT, silentLogger());
  // 1,500 characters of 3 bytes each: 4,500 bytes > 4,096 although the string is short.
  assert.equal(e.serialise(xml('message', { to: 'n@grid.test' }, xml('body', {}, '€'.repeat(1500)))), null);
  assert.equal(e.oversized, 1);
  assert.notEqual(e.serialise(xml('message', { to: 'n@grid.test' }, xml('body', {}, '€'.repeat(1000)))), null);
});

test('a message over the limit or from outside our domain is dropped and counted', () => {
  const e = new Egress(D, LIMIT, silentLogger());
  assert.equal(e.serialise(xml('message', { to: 'n@grid.test' }, xml('body', {}, 'x'.repeat(LIMIT)))), null);
  assert.equal(e.serialise(xml('iq', { type: 'get', to: 'n@grid.test', id: 'r' }, xml('query', {}, 'x'.repeat(LIMIT)))), null);
  assert.equal(e.oversized, 2);
  assert.equal(e.serialise(xml('message', { from: 'evil@grid.test', to: 'n@grid.test' })), null);
  assert.equal(e.foreign, 1);
});
