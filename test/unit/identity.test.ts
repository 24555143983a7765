// verifyRegistration (PROTOCOL §2 steps 2–5): what is accepted, and every refusal with its
// code and a text that says which check failed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { createCa, createCrl, issueIntermediateCa } from '../../src/identity/devcerts.js';
import { describeCertificate, isExpired } from '../../src/identity/certinfo.js';
import { signChallenge } from '../../src/identity/pop.js';
import { verifyRegistration } from '../../src/identity/verify.js';
import type { RegistrationInput, RegistrationResult } from '../../src/identity/types.js';
import { CHALLENGE, node, registration, testPki, trustFor } from '../helpers/pki.js';
import { valueOf, isFail } from '../helpers/result.js';

const DAY = 86_400_000;
const FINGERPRINT = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;

function refusal(r: RegistrationResult): { code: string; text: string } {
  assert.equal(isFail(r), true, `expected a refusal, got ${JSON.stringify(r)}`);
  return isFail(r) ? { code: r.fail, text: r.text ?? '' } : { code: '', text: '' };
}

describe('verifyRegistration accepts', () => {
  it('an RSA node certificate and reports what it says', () => {
    const { ca, rsa } = testPki();
    const r = { cert: valueOf(verifyRegistration(registration(rsa, 'node1@grid.test', trustFor(ca)))) };
    assert.deepEqual(r.cert.xmppAddrs, ['node1@grid.test']);
    assert.deepEqual(r.cert.subject, { O: 'Grid Dev', OU: 'soc', CN: 'node1' });
    assert.deepEqual(r.cert.issuer, { O: 'Test Grid', CN: 'Test Grid Root' });
    assert.equal(r.cert.keyType, 'rsa');
    assert.match(r.cert.fingerprint, FINGERPRINT);
    assert.match(r.cert.serial, /^[0-9A-F]+$/);
    assert.ok(Date.parse(r.cert.notBefore) < Date.now() && Date.parse(r.cert.notAfter) > Date.now());
  });

  it('an EC P-256 node certificate with a DER ECDSA signature', () => {
    const { ca, ec } = testPki();
    const r = { cert: valueOf(verifyRegistration(registration(ec, 'node2@grid.test', trustFor(ca)))) };
    assert.equal(r.cert.keyType, 'ec');
  });

  const variants: [string, (i: RegistrationInput) => Partial<RegistrationInput>][] = [
    ['a JID in other case', () => ({ bareJid: 'Node1@GRID.Test' })],
    ['a full JID (resource dropped)', () => ({ bareJid: 'node1@grid.test/agent' })],
    ['a signature wrapped over lines', (i) => ({ signature: i.signature.replace(/.{20}/g, '$&\n  ') })],
    ['CRLF line ends in the PEM', (i) => ({ certificatePem: i.certificatePem.replace(/\n/g, '\r\n') })],
  ];
  for (const [name, change] of variants) {
    it(name, () => {
      const { ca, rsa } = testPki();
      const input = registration(rsa, 'node1@grid.test', trustFor(ca));
      const r = verifyRegistration({ ...input, ...change(input) });
      assert.ok(!isFail(r), JSON.stringify(r));
    });
  }

  it('a chain through an intermediate CA sent after the leaf', () => {
    const { ca } = testPki();
    const mid = issueIntermediateCa(ca, { pathLen: 0, keyType: 'ec' });
    const leaf = node({ xmppAddr: 'n@grid.test', CN: 'n' }, mid);
    const r = verifyRegistration(registration({ ...leaf, certPem: leaf.certPem + mid.certPem }, 'n@grid.test', trustFor(ca)));
    assert.ok(!isFail(r), JSON.stringify(r));
  });

  it('a certificate without an extended key usage extension', () => {
    const { ca } = testPki();
    const pem = node({ xmppAddr: 'n@grid.test', eku: [] });
    assert.ok(!isFail(verifyRegistration(registration(pem, 'n@grid.test', trustFor(ca)))));
  });

  it('a certificate not on the CRL that is configured', () => {
    const { ca, rsa } = testPki();
    const crl = createCrl(ca, ['01', 'ABCDEF']);
    assert.ok(!isFail(verifyRegistration(registration(rsa, 'node1@grid.test', trustFor(ca, { crls: [crl] })))));
  });
});

describe('verifyRegistration refuses', () => {
  interface Case {
    name: string;
    input: () => RegistrationInput;
    code: string;
    text: RegExp;
  }
  const pki = (): ReturnType<typeof testPki> => testPki();
  const rsaInput = (over: Partial<RegistrationInput> = {}): RegistrationInput =>
    registration(pki().rsa, 'node1@grid.test', trustFor(pki().ca), over);

  const cases: Case[] = [
    { name: 'text that is no PEM', input: () => rsaInput({ certificatePem: 'hello' }), code: 'bad-certificate', text: /no PEM CERTIFICATE/ },
    {
      name: 'a PEM block that is no certificate',
      input: () => rsaInput({ certificatePem: `-----BEGIN CERTIFICATE-----\nAAECAwQ=\n-----END CERTIFICATE-----\n` }),
      code: 'bad-certificate', text: /certificate 1 is not a valid X.509/,
    },
    {
      name: 'a certificate from a rogue CA',
      input: () => registration(node({ xmppAddr: 'node1@grid.test' }, createCa({ O: 'Rogue', CN: 'Rogue CA', keyType: 'ec' })), 'node1@grid.test', trustFor(pki().ca)),
      code: 'untrusted', text: /issued by CN=Rogue CA, O=Rogue, which is neither a configured trust anchor/,
    },
    {
      name: 'a rogue CA that copies the trusted CA name',
      input: () => registration(node({ xmppAddr: 'node1@grid.test' }, createCa({ O: 'Test Grid', CN: 'Test Grid Root', keyType: 'ec' })), 'node1@grid.test', trustFor(pki().ca)),
      code: 'untrusted', text: /does not verify with the key of trust anchor CN=Test Grid Root/,
    },
    {
      name: 'an expired certificate',
      input: () => registration(node({ xmppAddr: 'node1@grid.test', notBefore: new Date(Date.now() - 3 * DAY), notAfter: new Date(Date.now() - DAY) }), 'node1@grid.test', trustFor(pki().ca)),
      code: 'untrusted', text: /CN=node1@grid.test expired on/,
    },
    {
      name: 'a certificate not yet valid',
      input: () => registration(node({ xmppAddr: 'node1@grid.test', notBefore: new Date(Date.now() + DAY) }), 'node1@grid.test', trustFor(pki().ca)),
      code: 'untrusted', text: /is not valid before/,
    },
    { name: 'a valid certificate checked at a later `now`', input: () => rsaInput({ now: new Date(Date.now() + 400 * DAY) }), code: 'untrusted', text: /CN=node1, OU=soc, O=Grid Dev expired/ },
    {
      name: 'a certificate on the CRL',
      input: () => rsaInput({ trust: trustFor(pki().ca, { crls: [createCrl(pki().ca, [describeCertificate(pki().rsa.certPem).serial])] }) }),
      code: 'untrusted', text: /\(serial [0-9A-F]+\) is revoked by the CRL in crl0.pem/,
    },
    {
      name: 'an extended key usage without clientAuth',
      input: () => registration(node({ xmppAddr: 'node1@grid.test', eku: ['serverAuth'] }), 'node1@grid.test', trustFor(pki().ca)),
      code: 'untrusted', text: /extended key usage without clientAuth/,
    },
    {
      name: 'an issuer without CA basicConstraints',
      input: () => {
        const fake = node({ allowNoXmppAddr: true, CN: 'Not A CA', isCa: true });
        const leaf = node({ xmppAddr: 'node1@grid.test' }, fake);
        return registration({ ...leaf, certPem: leaf.certPem + fake.certPem }, 'node1@grid.test', trustFor(pki().ca));
      },
      code: 'untrusted', text: /CN=Not A CA issued .* but is not a CA \(basicConstraints CA:true missing\)/,
    },
    {
      name: 'an intermediate that was not sent',
      input: () => registration(node({ xmppAddr: 'node1@grid.test' }, issueIntermediateCa(pki().ca, { CN: 'Mid', keyType: 'ec' })), 'node1@grid.test', trustFor(pki().ca)),
      code: 'untrusted', text: /issued by CN=Mid, O=Grid Dev CA, which is neither/,
    },
    {
      name: 'a chain longer than pathLen allows',
      input: () => {
        const mid1 = issueIntermediateCa(pki().ca, { CN: 'Mid1', pathLen: 0, keyType: 'ec' });
        const mid2 = issueIntermediateCa(mid1, { CN: 'Mid2', keyType: 'ec' });
        const leaf = node({ xmppAddr: 'node1@grid.test' }, mid2);
        return registration({ ...leaf, certPem: leaf.certPem + mid2.certPem + mid1.certPem }, 'node1@grid.test', trustFor(pki().ca));
      },
      code: 'untrusted', text: /CN=Mid1, O=Grid Dev CA allows 0 intermediate CA\(s\) below it, the chain has 1/,
    },
    { name: 'the xmppAddr of another JID', input: () => rsaInput({ bareJid: 'node9@grid.test' }), code: 'identity-mismatch', text: /xmppAddr is node1@grid.test, not node9@grid.test/ },
    {
      name: 'a CN-only certificate in xmppaddr mode',
      input: () => registration(node({ allowNoXmppAddr: true, CN: 'node3@grid.test' }), 'node3@grid.test', trustFor(pki().ca)),
      code: 'identity-mismatch', text: /no xmppAddr SAN/,
    },
    {
      name: 'a CN naming the JID beside an xmppAddr naming another, even in xmppaddr-or-cn mode',
      input: () => registration(node({ xmppAddr: 'other@grid.test', CN: 'node3@grid.test' }), 'node3@grid.test', trustFor(pki().ca, { identity: 'xmppaddr-or-cn' })),
      code: 'identity-mismatch', text: /xmppAddr is other@grid.test/,
    },
    {
      name: 'a CN of another JID in xmppaddr-or-cn mode',
      input: () => registration(node({ allowNoXmppAddr: true, CN: 'node3@grid.test' }), 'node4@grid.test', trustFor(pki().ca, { identity: 'xmppaddr-or-cn' })),
      code: 'identity-mismatch', text: /nor the subject CN/,
    },
    { name: 'a signature by another key', input: () => rsaInput({ signature: signChallenge(pki().ec.keyPem, CHALLENGE) }), code: 'bad-signature', text: /does not verify with the certificate's RSA/ },
    { name: 'a signature of another challenge', input: () => rsaInput({ challenge: 'other' }), code: 'bad-signature', text: /does not verify/ },
    { name: 'a signature that is not base64', input: () => rsaInput({ signature: 'not*base64!' }), code: 'bad-signature', text: /not base64/ },
    { name: 'an empty signature', input: () => rsaInput({ signature: '' }), code: 'bad-signature', text: /not base64/ },
    {
      name: 'an EC signature in raw r||s form instead of DER',
      input: () => registration(pki().ec, 'node2@grid.test', trustFor(pki().ca), {
        signature: p1363(pki().ec.keyPem),
      }),
      code: 'bad-signature', text: /EC P-256 \(ECDSA SHA-256, DER\)/,
    },
    // Order of the checks: the earlier step decides.
    { name: 'an untrusted certificate for another JID (chain first)', input: () => rsaInput({ trust: trustFor(createCa({ keyType: 'ec' })), bareJid: 'x@grid.test' }), code: 'untrusted', text: /neither a configured trust anchor/ },
    { name: 'another JID with a bad signature (identity before signature)', input: () => rsaInput({ bareJid: 'x@grid.test', signature: 'AAAA' }), code: 'identity-mismatch', text: /not x@grid.test/ },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const r = refusal(verifyRegistration(c.input()));
      assert.equal(r.code, c.code, r.text);
      assert.match(r.text, c.text);
    });
  }
});

function p1363(keyPem: string): string {
  return sign('sha256', Buffer.from(CHALLENGE), { key: createPrivateKey(keyPem), dsaEncoding: 'ieee-p1363' }).toString('base64');
}

describe('xmppaddr-or-cn mode accepts a stand-in for the xmppAddr', () => {
  const table: [string, Parameters<typeof node>[0], string][] = [
    ['subject CN', { allowNoXmppAddr: true, CN: 'node3@grid.test' }, 'node3@grid.test'],
    ['rfc822Name SAN', { allowNoXmppAddr: true, CN: 'x', email: 'Node4@grid.test' }, 'node4@grid.test'],
    ['dNSName SAN (a domain JID)', { allowNoXmppAddr: true, CN: 'x', dnsNames: ['gw.grid.test'] }, 'gw.grid.test'],
  ];
  for (const [name, spec, jid] of table) {
    it(name, () => {
      const pem = node(spec);
      const { ca } = testPki();
      assert.ok(!isFail(verifyRegistration(registration(pem, jid, trustFor(ca, { identity: 'xmppaddr-or-cn' })))));
      assert.equal(refusal(verifyRegistration(registration(pem, jid, trustFor(ca)))).code, 'identity-mismatch');
    });
  }
});

describe('describeCertificate / isExpired', () => {
  it('reads the leaf of a chain and tells expiry against a given time', () => {
    const { rsa, ca } = testPki();
    const info = describeCertificate(rsa.certPem + ca.certPem);
    assert.deepEqual(info.subject, { O: 'Grid Dev', OU: 'soc', CN: 'node1' });
    assert.equal(isExpired(info, new Date()), false);
    assert.equal(isExpired(info, new Date(Date.parse(info.notAfter) + 1000)), true);
  });

  it('throws with a reason on text that is no certificate', () => {
    assert.throws(() => describeCertificate('nope'), /no PEM CERTIFICATE block/);
  });
});
