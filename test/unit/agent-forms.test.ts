// Agent: data forms, registration stanzas and challenge signing (PROTOCOL §2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import xml from '@xmpp/xml';
import { buildForm, parseForm, findForm } from '../../src/agent/forms.js';
import { parseAccount, parseRegistration, registrationSubmit, signChallenge } from '../../src/agent/register.js';
import { GridError } from '../../src/agent/errors.js';

test('buildForm → parseForm round-trips FORM_TYPE, values and types', () => {
  const x = buildForm('submit', 'urn:test', [{ var: 'a', type: 'list-multi', values: ['1', '2'] }, { var: 'b', values: [] }]);
  assert.equal(x.attrs.xmlns, 'jabber:x:data');
  const f = parseForm(x);
  assert.equal(f.type, 'submit');
  assert.equal(f.formType, 'urn:test');
  assert.deepEqual(f.fields.get('a'), ['1', '2']);
  assert.deepEqual(f.fields.get('b'), []);
  assert.equal(f.types.get('a'), 'list-multi');
  assert.equal(f.fields.has('FORM_TYPE'), false);
});

for (const [kind, opts] of [
  ['rsa', { modulusLength: 2048 }],
  ['ec', { namedCurve: 'P-256' }],
] as const) {
  test(`signChallenge: ${kind} signature verifies over the exact UTF-8 challenge (DER for ECDSA)`, () => {
    const { privateKey, publicKey } = generateKeyPairSync(kind as 'rsa', opts as { modulusLength: number });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const challenge = 'nonce-ü-123';
    const sig = signChallenge(pem, challenge);
    assert.match(sig, /^[A-Za-z0-9+/]+={0,2}$/);
    const ok = verify('sha256', Buffer.from(challenge, 'utf8'), { key: publicKey, dsaEncoding: 'der' }, Buffer.from(sig, 'base64'));
    assert.equal(ok, true);
    assert.equal(verify('sha256', Buffer.from(challenge + 'x'), { key: publicKey, dsaEncoding: 'der' }, Buffer.from(sig, 'base64')), false);
  });
}

test('registrationSubmit carries the §2 fields: challenge, certificate lines, signature, options', () => {
  const pem = '-----BEGIN CERTIFICATE-----\r\nAAAA\nBBBB\n-----END CERTIFICATE-----\n\n';
  const iq = registrationSubmit('controller.grid.test', { challenge: 'c1', certPem: pem, signature: 'c2ln', groups: ['soc', 'providers'], deviceType: 'siem' });
  assert.deepEqual([iq.attrs.type, iq.attrs.to], ['set', 'controller.grid.test']);
  const form = findForm(iq.getChild('query', 'jabber:iq:register'), 'urn:xmpp-grid:0#register')!;
  assert.equal(form.type, 'submit');
  assert.deepEqual(form.fields.get('challenge'), ['c1']);
  assert.deepEqual(form.fields.get('certificate'), ['-----BEGIN CERTIFICATE-----', 'AAAA', 'BBBB', '-----END CERTIFICATE-----']);
  assert.deepEqual(form.fields.get('signature'), ['c2ln']);
  assert.deepEqual(form.fields.get('groups'), ['soc', 'providers']);
  assert.deepEqual(form.fields.get('device-type'), ['siem']);
  assert.equal(form.fields.has('description'), false);
});

const regAnswer = (...extra: ReturnType<typeof xml>[]) => xml('iq', { type: 'result' }, xml('query', { xmlns: 'jabber:iq:register' },
  xml('instructions', {}, 'sign'), ...extra,
  buildForm('form', 'urn:xmpp-grid:0#register', [{ var: 'challenge', type: 'hidden', values: ['nonce1'] }])));

test('parseRegistration: unregistered JID → challenge, registered false', () => {
  const r = parseRegistration(regAnswer());
  assert.equal(r.challenge, 'nonce1');
  assert.deepEqual(r.account, { registered: false, groups: [] });
});

test('parseRegistration: registered JID → status and groups', () => {
  const r = parseRegistration(regAnswer(xml('registered'),
    xml('account', { xmlns: 'urn:xmpp-grid:0', status: 'approved' }, xml('group', {}, 'soc'), xml('group', {}, 'partners'))));
  assert.deepEqual(r.account, { registered: true, status: 'approved', groups: ['soc', 'partners'] });
});

test('parseRegistration: an answer without a challenge is a protocol GridError', () => {
  const bad = xml('iq', { type: 'result' }, xml('query', { xmlns: 'jabber:iq:register' }));
  assert.throws(() => parseRegistration(bad), (e: unknown) => e instanceof GridError && e.kind === 'protocol' && /challenge/.test(e.message));
});

test('parseAccount rejects unknown statuses', () => {
  assert.equal(parseAccount(xml('account', { status: 'bogus' })), undefined);
  assert.deepEqual(parseAccount(xml('account', { status: 'pending' })), { status: 'pending', groups: [] });
});
