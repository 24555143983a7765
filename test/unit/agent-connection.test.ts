import { test } from 'node:test';
import assert from 'node:assert/strict';
import xml from '@xmpp/xml';
import { parseStanzaError, StanzaError } from '../../src/agent/stanza-error.js';
import { externalInitialResponse } from '../../src/agent/sasl-external.js';
import { StanzaBuffer } from '../../src/agent/stanza-buffer.js';
import { connectNode, NodeConnectError, tlsOptionsFor } from '../../src/agent/connection.js';
import { createCa, issueNodeCert } from '../../src/identity/devcerts.js';

const ca = createCa({ CN: 'Unit CA' });
const n1 = issueNodeCert(ca, { xmppAddr: 'node1@grid.test' });
const n2 = issueNodeCert(ca, { xmppAddr: 'node2@grid.test', keyType: 'ec' });

const NS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const GRID = 'urn:xmpp-grid:0';

test('parseStanzaError reads type, condition, app condition and text', () => {
  const cases: [ReturnType<typeof xml>, [string, string, string | undefined, string | undefined]][] = [
    [xml('iq', { type: 'error' }, xml('error', { type: 'auth' }, xml('registration-required', { xmlns: NS }))),
      ['auth', 'registration-required', undefined, undefined]],
    [xml('iq', { type: 'error' }, xml('error', { type: 'auth' }, xml('forbidden', { xmlns: NS }),
      xml('text', { xmlns: NS }, 'pending'), xml('account-pending', { xmlns: GRID }))),
      ['auth', 'forbidden', 'account-pending', 'pending']],
    [xml('error', { type: 'modify' }, xml('bad-request', { xmlns: NS })), ['modify', 'bad-request', undefined, undefined]],
    // Malformed: no defined condition and an unknown type still give something to branch on.
    [xml('error', { type: 'bogus' }), ['cancel', 'undefined-condition', undefined, undefined]],
  ];
  for (const [el, [type, condition, app, text]] of cases) {
    const e = parseStanzaError(el);
    assert.ok(e instanceof StanzaError);
    assert.deepEqual([e.type, e.condition, e.appCondition?.name, e.text], [type, condition, app, text], el.toString());
  }
  assert.equal(parseStanzaError(xml('iq', { type: 'result' })), undefined);
  assert.equal(parseStanzaError(xml('iq', { type: 'error' }, xml('error', { type: 'auth' })))?.stanza?.name, 'iq');
});

test('SASL EXTERNAL sends "=" for no authzid, base64 otherwise', () => {
  assert.equal(externalInitialResponse(), '=');
  assert.equal(externalInitialResponse(''), '=');
  assert.equal(externalInitialResponse('node1@grid.test'), Buffer.from('node1@grid.test').toString('base64'));
});

test('StanzaBuffer hands out a stanza that arrived before the wait, and each one once', async () => {
  const buf = new StanzaBuffer(3);
  const m = (id: string) => xml('message', { id });
  buf.push(m('early'));
  assert.equal((await buf.waitFor((s) => s.attrs.id === 'early')).attrs.id, 'early');
  await assert.rejects(buf.waitFor((s) => s.attrs.id === 'early', 20), /no matching stanza within 20 ms/);
  const later = buf.waitFor((s) => s.attrs.id === 'late');
  buf.push(m('other'));
  buf.push(m('late'));
  assert.equal((await later).attrs.id, 'late');
  // Bounded: the oldest unclaimed stanza is dropped.
  for (const id of ['a', 'b', 'c']) buf.push(m(id));
  await assert.rejects(buf.waitFor((s) => s.attrs.id === 'other', 20));
  // A throwing predicate does not match instead of breaking the connection.
  await assert.rejects(buf.waitFor(() => { throw new Error('x'); }, 20), /no matching stanza/);
  const pending = buf.waitFor(() => false);
  buf.close();
  await assert.rejects(pending, /connection closed/);
});

test('TLS options: server name is the domain; certificate problems are named before connecting', () => {
  const base = { service: 'xmpps://127.0.0.1:1', domain: 'grid.test' };
  const t = tlsOptionsFor({ ...base, cert: n1.certPem, key: n1.keyPem, ca: ca.certPem });
  assert.deepEqual([t.servername, t.cert, t.key, t.ca, t.rejectUnauthorized], ['grid.test', n1.certPem, n1.keyPem, ca.certPem, true]);
  const cases: [Parameters<typeof tlsOptionsFor>[0], RegExp][] = [
    [{ ...base, key: n1.keyPem }, /no client cert: pass cert or certFile/],
    [{ ...base, cert: 'C', key: n1.keyPem }, /cert \(PEM text\) is not a PEM certificate/],
    [{ ...base, cert: n1.certPem, key: 'K' }, /key \(PEM text\) is not a PEM private key/],
    [{ ...base, cert: n1.certPem, key: n2.keyPem }, /key \(PEM text\) does not belong to cert/],
  ];
  for (const [o, want] of cases) {
    assert.throws(() => tlsOptionsFor(o), (e: unknown) => e instanceof NodeConnectError && e.failure === 'tls' && want.test(e.message));
  }
});

test('connectNode refuses a service that is not xmpp:// or xmpps://', async () => {
  await assert.rejects(connectNode({ service: 'ws://127.0.0.1:1', domain: 'grid.test', cert: n1.certPem, key: n1.keyPem }),
    (e: unknown) => e instanceof NodeConnectError && e.failure === 'connect');
});

test('connectNode reports an unreachable server as a connect failure', async () => {
  const { createServer } = await import('node:net');
  const srv = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  await assert.rejects(connectNode({ service: `xmpps://127.0.0.1:${port}`, domain: 'grid.test', cert: n1.certPem, key: n1.keyPem, timeoutMs: 2000 }),
    (e: unknown) => e instanceof NodeConnectError && e.failure === 'connect' && /cannot reach/.test(e.message));
});
