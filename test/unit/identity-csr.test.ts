// certs sign's checks on the CSR: its own signature, strong keys only, and what the issued
// certificate carries (xmppAddr SAN, clientAuth, the CSR's subject, never past the CA).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { createCa } from '../../src/identity/issue.js';
import { signCsr, checkCsr } from '../../src/identity/csr.js';
import { csrFor, makeKeyAndCsr } from '../../src/agent/csr.js';
import { readExtensions, parseCertificateDer, normalizeSerial } from '../../src/identity/asn1.js';

const ca = createCa({ O: 'Ops CA', CN: 'Ops Root' });

test('an RSA and an EC CSR become node certificates with xmppAddr and clientAuth', () => {
  for (const kt of ['rsa', 'ec'] as const) {
    const { csrPem } = makeKeyAndCsr({ jid: 'soc1@grid.example', O: 'ACME', OU: 'soc' }, kt);
    const r = signCsr(ca, csrPem, { jid: 'SOC1@grid.example', days: 10 });
    const x = new X509Certificate(r.certPem);
    assert.ok(x.checkIssued(new X509Certificate(ca.certPem)));
    assert.deepEqual(r.subject, { O: 'ACME', OU: 'soc', CN: 'soc1@grid.example' });
    const ext = readExtensions(parseCertificateDer(x.raw));
    assert.deepEqual(ext.xmppAddrs, ['soc1@grid.example'], kt);
    assert.deepEqual(ext.eku, ['1.3.6.1.5.5.7.3.2'], kt);
    assert.equal(x.ca, false);
  }
});

test('weak keys are refused: RSA under 2048 bits, EC curves other than P-256/384/521', () => {
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  assert.throws(() => checkCsr(csrFor(rsa1024, { jid: 'a@b' })), /weak key: RSA 1024 bits/);
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey;
  assert.throws(() => checkCsr(csrFor(k1, { jid: 'a@b' })), /EC curve secp256k1/);
});

test('validity never outlasts the CA', () => {
  const shortCa = createCa({ days: 5 });
  const r = signCsr(shortCa, makeKeyAndCsr({ jid: 'a@b.example' }).csrPem, { jid: 'a@b.example', days: 365 });
  assert.equal(r.notAfter, new Date(new X509Certificate(shortCa.certPem).validTo).toISOString());
});

test('not a CSR: one clear reason', () => {
  assert.throws(() => signCsr(ca, 'hello', { jid: 'a@b' }), /not a PEM certificate request/);
});

test('a serial with a leading zero nibble has one form: what certs sign prints is what the account stores', () => {
  // Node and openssl print whole bytes ('07D9…'); the store keeps the integer value ('7D9…').
  assert.equal(normalizeSerial('07D9EDBEC8B77831CEE0591780571AD3'), '7D9EDBEC8B77831CEE0591780571AD3');
  assert.equal(normalizeSerial('00:a1'), 'A1');
  assert.equal(normalizeSerial('0'), '0');
  assert.equal(normalizeSerial(new Uint8Array([0x07, 0xd9]).buffer), '7D9');
  for (let i = 0; i < 40; i++) {
    const r = signCsr(ca, makeKeyAndCsr({ jid: 'a@b.example' }, 'ec').csrPem, { jid: 'a@b.example', days: 1 });
    const stored = normalizeSerial(new X509Certificate(r.certPem).serialNumber);
    assert.equal(r.serial, stored);
    assert.doesNotMatch(r.serial, /^0/);
  }
});
