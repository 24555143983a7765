// Interoperability: certificates and signatures made by the openssl CLI, the way a SOC would
// make them, pass through loadTrust, describeCertificate and verifyRegistration.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeCertificate } from '../../src/identity/certinfo.js';
import { signChallenge } from '../../src/identity/pop.js';
import { loadTrust } from '../../src/identity/trust.js';
import { verifyRegistration } from '../../src/identity/verify.js';
import type { Trust } from '../../src/identity/types.js';
import { CHALLENGE, openssl, tempDir, writeFiles } from '../helpers/pki.js';
import { isFail } from '../../src/result.js';

const XMPP_SAN = (jid: string): string => `subjectAltName=otherName:1.3.6.1.5.5.7.8.5;UTF8:${jid}`;

let dir: string;
let cleanup: () => void;
let trust: Trust;

/** CSR with the given key options, signed by the openssl CA; extensions copied from the CSR. */
function opensslLeaf(name: string, keyArgs: string[], subj: string, exts: string[]): void {
  openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj,
    ...exts.flatMap((e) => ['-addext', e])], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '30', '-copy_extensions', 'copy', '-out', `${name}.crt`], dir);
}

function read(name: string): string {
  return readFileSync(join(dir, name), 'utf8');
}

/** The challenge signed by `openssl dgst`, i.e. by another implementation than ours. */
function opensslSignature(keyFile: string): string {
  writeFiles(dir, { 'challenge.txt': CHALLENGE });
  openssl(['dgst', '-sha256', '-sign', keyFile, '-out', 'sig.bin', 'challenge.txt'], dir);
  return readFileSync(join(dir, 'sig.bin')).toString('base64');
}

before(() => {
  ({ dir, cleanup } = tempDir());
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30',
    '-subj', '/O=OpenSSL Grid/CN=OpenSSL Root, Test CA'], dir);
  opensslLeaf('rsa', ['-newkey', 'rsa:2048'], '/O=Grid Dev/OU=soc/CN=node1',
    [XMPP_SAN('node1@grid.test'), 'extendedKeyUsage=clientAuth', 'keyUsage=critical,digitalSignature']);
  opensslLeaf('ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], '/O=Grid Dev/OU=ids/CN=node2',
    [XMPP_SAN('node2@grid.test'), 'extendedKeyUsage=clientAuth,serverAuth']);
  opensslLeaf('p384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], '/CN=node5',
    [XMPP_SAN('node5@grid.test')]);
  opensslLeaf('server', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], '/CN=node6',
    [XMPP_SAN('node6@grid.test'), 'extendedKeyUsage=serverAuth']);
  trust = loadTrust({ ca: [join(dir, 'ca.crt')], crl: [], identity: 'xmppaddr' });
});
after(() => cleanup());

describe('certificates made by openssl', () => {
  const table: [string, string, 'rsa' | 'ec', Record<string, string>][] = [
    ['rsa', 'node1@grid.test', 'rsa', { O: 'Grid Dev', OU: 'soc', CN: 'node1' }],
    ['ec', 'node2@grid.test', 'ec', { O: 'Grid Dev', OU: 'ids', CN: 'node2' }],
  ];
  for (const [name, jid, keyType, subject] of table) {
    it(`${name}: identity is extracted`, () => {
      const info = describeCertificate(read(`${name}.crt`));
      assert.deepEqual(info.xmppAddrs, [jid]);
      assert.equal(info.keyType, keyType);
      assert.deepEqual(info.subject, subject);
      // A comma inside a value must not split it (Node's subjectAltName string would quote it).
      assert.deepEqual(info.issuer, { O: 'OpenSSL Grid', CN: 'OpenSSL Root, Test CA' });
      assert.equal(info.serial, openssl(['x509', '-in', `${name}.crt`, '-noout', '-serial'], dir).trim().replace(/^serial=0*/, ''));
    });

    it(`${name}: registration with an openssl dgst signature is accepted`, () => {
      const r = verifyRegistration({ certificatePem: read(`${name}.crt`), challenge: CHALLENGE, signature: opensslSignature(`${name}.key`), bareJid: jid, trust });
      assert.ok(!isFail(r), JSON.stringify(r));
    });

    it(`${name}: signChallenge works with the openssl key file`, () => {
      const r = verifyRegistration({ certificatePem: read(`${name}.crt`), challenge: CHALLENGE, signature: signChallenge(read(`${name}.key`), CHALLENGE), bareJid: jid, trust });
      assert.ok(!isFail(r), JSON.stringify(r));
    });
  }

  it('our signature verifies with openssl dgst -verify', () => {
    writeFiles(dir, { 'challenge.txt': CHALLENGE, 'ec.pub': openssl(['x509', '-in', 'ec.crt', '-noout', '-pubkey'], dir) });
    writeFileSync(join(dir, 'ours.sig'), Buffer.from(signChallenge(read('ec.key'), CHALLENGE), 'base64'));
    assert.match(openssl(['dgst', '-sha256', '-verify', 'ec.pub', '-signature', 'ours.sig', 'challenge.txt'], dir), /Verified OK/);
  });

  it('an EC key on P-384 is refused as an unsupported certificate', () => {
    const r = verifyRegistration({ certificatePem: read('p384.crt'), challenge: CHALLENGE, signature: opensslSignature('p384.key'), bareJid: 'node5@grid.test', trust });
    assert.equal(isFail(r), true);
    assert.deepEqual(isFail(r) ? [r.fail, r.text] : undefined, ['bad-certificate', "the certificate's EC key is on secp384r1; only P-256 is supported"]);
  });

  it('a serverAuth-only certificate is refused as untrusted', () => {
    const r = verifyRegistration({ certificatePem: read('server.crt'), challenge: CHALLENGE, signature: opensslSignature('server.key'), bareJid: 'node6@grid.test', trust });
    assert.deepEqual(isFail(r) ? r.fail : undefined, 'untrusted');
  });
});
