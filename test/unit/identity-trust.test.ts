// loadTrust: every unusable trust file stops the start with an error naming the file;
// CRLs count only when signed by the CA they name.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createCa, createCrl, issueIntermediateCa } from '../../src/identity/devcerts.js';
import { describeCertificate } from '../../src/identity/certinfo.js';
import { loadTrust, TrustError } from '../../src/identity/trust.js';
import { verifyRegistration } from '../../src/identity/verify.js';
import { node, registration, tempDir, testPki, writeFiles } from '../helpers/pki.js';
import { isFail } from '../../src/result.js';

let dir: string;
let cleanup: () => void;
const DAY = 86_400_000;

before(() => {
  ({ dir, cleanup } = tempDir());
  const { ca, rsa } = testPki();
  const impostor = createCa({ O: 'Test Grid', CN: 'Test Grid Root', keyType: 'ec' }); // same name, other key
  writeFiles(dir, {
    'ca.crt': ca.certPem,
    'bundle.crt': createCa({ CN: 'Other', keyType: 'ec' }).certPem + ca.certPem,
    'leaf.crt': rsa.certPem,
    'garbage.crt': 'not a certificate\n',
    'broken.crt': '-----BEGIN CERTIFICATE-----\nAAECAwQ=\n-----END CERTIFICATE-----\n',
    'crl.pem': createCrl(ca, []),
    'forged.crl': createCrl(impostor, [describeCertificate(rsa.certPem).serial]),
    'stale.crl': createCrl(ca, [describeCertificate(rsa.certPem).serial], { now: new Date(Date.now() - 60 * DAY), days: 30 }),
    'broken.crl': '-----BEGIN X509 CRL-----\nAAECAwQ=\n-----END X509 CRL-----\n',
  });
});
after(() => cleanup());

const f = (name: string): string => join(dir, name);

describe('loadTrust refuses, naming the file', () => {
  const cases: [string, string[], string[], RegExp][] = [
    ['a missing CA file', ['missing.crt'], [], /missing.crt: cannot read CA certificate file \(ENOENT\)/],
    ['a CA file without PEM', ['garbage.crt'], [], /garbage.crt: holds no PEM CERTIFICATE block/],
    ['a CA file with a broken certificate', ['broken.crt'], [], /broken.crt: certificate 1 is not a valid X.509 certificate/],
    ['a leaf configured as anchor', ['leaf.crt'], [], /leaf.crt: certificate 1 \(CN=node1, OU=soc, O=Grid Dev\) is not a CA/],
    ['a missing CRL file', ['ca.crt'], ['missing.crl'], /missing.crl: cannot read CRL file \(ENOENT\)/],
    ['a CRL file without a CRL', ['ca.crt'], ['ca.crt'], /ca.crt: holds no PEM X509 CRL block/],
    ['a broken CRL', ['ca.crt'], ['broken.crl'], /broken.crl: CRL 1 is not a valid X.509 CRL/],
    ['a CRL naming the anchor but signed by another key', ['ca.crt'], ['forged.crl'], /forged.crl: CRL signature does not verify with the key of trust anchor CN=Test Grid Root/],
  ];
  for (const [name, ca, crl, re] of cases) {
    it(name, () => {
      assert.throws(() => loadTrust({ ca: ca.map(f), crl: crl.map(f), identity: 'xmppaddr' }), (err: unknown) => {
        assert.ok(err instanceof TrustError);
        assert.match(err.message, re);
        return true;
      });
    });
  }

  it('no anchors at all', () => {
    assert.throws(() => loadTrust({ ca: [], crl: [], identity: 'xmppaddr' }), /trust.ca: no trust anchor configured/);
  });
});

describe('loadTrust accepts', () => {
  it('a bundle of several anchors, any of which may issue', () => {
    const trust = loadTrust({ ca: [f('bundle.crt')], crl: [f('crl.pem')], identity: 'xmppaddr' });
    assert.equal(trust.anchors.length, 2);
    assert.deepEqual(trust.warnings, []);
    assert.ok(!isFail(verifyRegistration(registration(testPki().rsa, 'node1@grid.test', trust))));
  });

  it('a CRL past its nextUpdate, with a warning, still applying it', () => {
    const trust = loadTrust({ ca: [f('ca.crt')], crl: [f('stale.crl')], identity: 'xmppaddr' });
    assert.equal(trust.warnings.length, 1);
    assert.match(trust.warnings[0]!, /stale.crl: CRL of CN=Test Grid Root, O=Test Grid is past its nextUpdate/);
    const r = verifyRegistration(registration(testPki().rsa, 'node1@grid.test', trust));
    assert.match(isFail(r) ? r.text ?? '' : '', /is revoked by the CRL in .*stale.crl/);
  });
});

describe('CRLs of an intermediate CA', () => {
  it('revoke certificates of that CA, checked against its key when the chain is verified', () => {
    const { ca } = testPki();
    const mid = issueIntermediateCa(ca, { CN: 'Site CA', keyType: 'ec' });
    const leaf = node({ xmppAddr: 'n@grid.test' }, mid);
    const chained = { ...leaf, certPem: leaf.certPem + mid.certPem };
    writeFiles(dir, {
      'mid-revoking.crl': createCrl(mid, [describeCertificate(leaf.certPem).serial]),
      'mid-forged.crl': createCrl(createCa({ O: 'Grid Dev CA', CN: 'Site CA', keyType: 'ec' }), []),
    });
    const load = (crl: string): ReturnType<typeof loadTrust> => loadTrust({ ca: [f('ca.crt')], crl: [f(crl)], identity: 'xmppaddr' });

    const revoked = verifyRegistration(registration(chained, 'n@grid.test', load('mid-revoking.crl')));
    assert.deepEqual(isFail(revoked) ? revoked.fail : undefined, 'untrusted');
    assert.match(isFail(revoked) ? revoked.text ?? '' : '', /is revoked by the CRL in .*mid-revoking.crl/);

    const forged = verifyRegistration(registration(chained, 'n@grid.test', load('mid-forged.crl')));
    assert.match(isFail(forged) ? forged.text ?? '' : '', /mid-forged.crl names CN=Site CA, O=Grid Dev CA as issuer but its signature does not verify/);

    assert.ok(!isFail(verifyRegistration(registration(chained, 'n@grid.test', load('crl.pem')))));
  });
});
