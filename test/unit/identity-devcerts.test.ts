// The development PKI: what the certificates say (checked by openssl, an independent
// parser), the files writeDevPki leaves, and `certs dev` option handling.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCrl, issueNodeCert, issueServerCert, writeDevPki } from '../../src/identity/devcerts.js';
import { describeCertificate } from '../../src/identity/certinfo.js';
import { parseOuMap, runCertsDev, runCertsNode } from '../../src/cli/certs.js';
import { loadTrust } from '../../src/identity/trust.js';
import { verifyRegistration } from '../../src/identity/verify.js';
import { openssl, registration, tempDir, testPki } from '../helpers/pki.js';
import { isFail } from '../../src/result.js';

let dir: string;
let cleanup: () => void;
before(() => ({ dir, cleanup } = tempDir()));
after(() => cleanup());

describe('issued certificates, as openssl reads them', () => {
  it('CA: CA:TRUE, keyCertSign, default names', () => {
    writeFileSync(join(dir, 'ca.crt'), testPki().ca.certPem);
    const text = openssl(['x509', '-in', 'ca.crt', '-noout', '-text'], dir);
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text, /Certificate Sign, CRL Sign/);
    assert.match(text, /Subject: O = Test Grid, CN = Test Grid Root/);
  });

  for (const [name, keyType] of [['rsa', 'rsa'], ['ec', 'ec']] as const) {
    it(`${name} node: xmppAddr otherName, clientAuth, verifies as an SSL client`, () => {
      const { ca } = testPki();
      const pem = issueNodeCert(ca, { xmppAddr: 'node1@grid.test', CN: 'node1', keyType });
      writeFileSync(join(dir, `${name}.crt`), pem.certPem);
      const text = openssl(['x509', '-in', `${name}.crt`, '-noout', '-text'], dir);
      assert.match(text, /othername: XmppAddr::node1@grid.test/);
      assert.match(text, /Extended Key Usage: \s*TLS Web Client Authentication/);
      assert.match(text, keyType === 'ec' ? /NIST CURVE: P-256/ : /Public-Key: \(2048 bit\)/);
      assert.match(openssl(['verify', '-CAfile', 'ca.crt', '-purpose', 'sslclient', `${name}.crt`], dir), /OK/);
    });
  }

  it('server: SANs for the domain, its subdomains and localhost; serverAuth', () => {
    const pem = issueServerCert(testPki().ca, { domain: 'grid.test', altNames: ['localhost'] });
    const x = new X509Certificate(pem.certPem);
    assert.equal(x.subjectAltName, 'DNS:grid.test, DNS:*.grid.test, DNS:localhost');
    assert.equal(x.checkHost('controller.grid.test'), '*.grid.test'); // the SAN that matched
    assert.equal(x.checkHost('evil.test'), undefined);
    writeFileSync(join(dir, 'server.crt'), pem.certPem);
    assert.match(openssl(['verify', '-CAfile', 'ca.crt', '-purpose', 'sslserver', 'server.crt'], dir), /OK/);
  });

  it('refuses a node certificate without xmppAddr unless allowed', () => {
    assert.throws(() => issueNodeCert(testPki().ca, { CN: 'x' }), /needs xmppAddr/);
    assert.deepEqual(describeCertificate(issueNodeCert(testPki().ca, { CN: 'x', allowNoXmppAddr: true, keyType: 'ec' }).certPem).xmppAddrs, []);
  });

  it('refuses an unknown EKU name', () => {
    assert.throws(() => issueNodeCert(testPki().ca, { xmppAddr: 'a@b', eku: ['clientauth'] }), /unknown extended key usage "clientauth"/);
  });

  it('CRL: signed by the CA, lists the serials (high bit and colons handled)', () => {
    writeFileSync(join(dir, 'crl.pem'), createCrl(testPki().ca, ['0a:1b', 'FF01']));
    const text = openssl(['crl', '-in', 'crl.pem', '-CAfile', 'ca.crt', '-noout', '-text'], dir);
    assert.match(text, /Serial Number: 0A1B/);
    assert.match(text, /Serial Number: FF01/);
    assert.match(openssl(['crl', '-in', 'crl.pem', '-CAfile', 'ca.crt', '-noout', '-verify'], dir), /verify OK/);
  });
});

describe('writeDevPki', () => {
  it('writes the CA, server and node files with 0600 keys; nodes verify', () => {
    const out = join(dir, 'pki');
    const paths = writeDevPki({ outDir: out, domain: 'grid.test', nodes: ['provider', { name: 'soc1', OU: 'soc', keyType: 'ec' }] });
    assert.equal(paths.caReused, false);
    assert.deepEqual(Object.keys(paths.nodes), ['provider', 'soc1']);
    for (const p of [paths.ca, paths.server, paths.nodes.provider!, paths.nodes.soc1!]) {
      assert.equal(statSync(p.key).mode & 0o777, 0o600, p.key);
      assert.equal(statSync(p.cert).mode & 0o077, 0o044, p.cert);
    }
    const soc1 = describeCertificate(readFileSync(paths.nodes.soc1!.cert, 'utf8'));
    assert.deepEqual(soc1.subject, { O: 'Grid Dev', OU: 'soc', CN: 'soc1' });
    assert.deepEqual(soc1.xmppAddrs, ['soc1@grid.test']);
    assert.equal(soc1.keyType, 'ec');
    const trust = loadTrust({ ca: [paths.ca.cert], crl: [], identity: 'xmppaddr' });
    const provider = { certPem: readFileSync(paths.nodes.provider!.cert, 'utf8'), keyPem: readFileSync(paths.nodes.provider!.key, 'utf8') };
    assert.ok(!isFail(verifyRegistration(registration(provider, 'provider@grid.test', trust))));
    assert.deepEqual(new X509Certificate(readFileSync(paths.server.cert)).subjectAltName, 'DNS:grid.test, DNS:*.grid.test, DNS:localhost');
  });

  it('keeps the CA on a re-run and re-issues the rest', () => {
    const out = join(dir, 'pki');
    const caBefore = readFileSync(join(out, 'ca.crt'), 'utf8');
    const nodeBefore = readFileSync(join(out, 'nodes', 'provider.crt'), 'utf8');
    const paths = writeDevPki({ outDir: out, domain: 'grid.test', nodes: ['provider'] });
    assert.equal(paths.caReused, true);
    assert.equal(readFileSync(paths.ca.cert, 'utf8'), caBefore);
    assert.notEqual(readFileSync(paths.nodes.provider!.cert, 'utf8'), nodeBefore);
  });

  it('refuses a CA key that does not match the CA certificate', () => {
    const out = join(dir, 'pki');
    writeFileSync(join(out, 'ca.key'), testPki().rsa.keyPem);
    assert.throws(() => writeDevPki({ outDir: out, domain: 'grid.test', nodes: ['a'] }), /ca.key does not belong to .*ca.crt/);
  });

  const badNames: [string, RegExp][] = [['../evil', /node name "..\/evil"/], ['', /node name ""/], ['a b', /node name "a b"/]];
  for (const [name, re] of badNames) {
    it(`refuses node name ${JSON.stringify(name)}`, () => {
      assert.throws(() => writeDevPki({ outDir: join(dir, 'bad'), domain: 'grid.test', nodes: [name] }), re);
    });
  }

  it('refuses a node listed twice', () => {
    assert.throws(() => writeDevPki({ outDir: join(dir, 'bad'), domain: 'grid.test', nodes: ['a', { name: 'a' }] }), /"a" is listed twice/);
  });
});

describe('certs dev options', () => {
  it('--ou-map sets the OU of the named nodes only', () => {
    const paths = runCertsDev({ out: join(dir, 'cli'), domain: 'lab.test', nodes: 'provider, soc1', ouMap: 'provider=intel' });
    assert.equal(describeCertificate(readFileSync(paths.nodes.provider!.cert, 'utf8')).subject.OU, 'intel');
    assert.equal(describeCertificate(readFileSync(paths.nodes.soc1!.cert, 'utf8')).subject.OU, 'soc1');
    assert.deepEqual(describeCertificate(readFileSync(paths.nodes.soc1!.cert, 'utf8')).xmppAddrs, ['soc1@lab.test']);
  });

  const bad: [string | undefined, string[], RegExp][] = [
    ['soc1', ['soc1'], /"soc1" is not node=ou/],
    ['=x', ['soc1'], /"=x" is not node=ou/],
    ['soc1=', ['soc1'], /"soc1=" is not node=ou/],
    ['zz=1', ['soc1'], /"zz" is not one of --nodes \(soc1\)/],
  ];
  for (const [value, nodes, re] of bad) {
    it(`--ou-map ${JSON.stringify(value)} is refused`, () => assert.throws(() => parseOuMap(value, nodes), re));
  }

  it('--ou-map with spaces and an empty value', () => {
    assert.deepEqual(parseOuMap(' a = x , b=y ', ['a', 'b']), { a: 'x', b: 'y' });
    assert.deepEqual(parseOuMap(undefined, ['a']), {});
  });
});

describe('certs dev on a folder with a CA, certs node --ca-dir (issue 11)', () => {
  it('certs dev never overwrites an existing CA or server certificate without --force', () => {
    const out = join(dir, 'existing');
    const first = runCertsDev({ out, domain: 'grid.test', nodes: 'soc1' });
    const before = ['ca.crt', 'ca.key', 'server.crt', 'server.key'].map((f) => readFileSync(join(out, f), 'utf8'));
    assert.throws(() => runCertsDev({ out, domain: 'grid.test', nodes: 'soc2' }),
      /ca\.crt, .*server\.key already exist: to add nodes from this CA use `grid-controller certs node NAME… --ca-dir .*`; --force re-issues/);
    assert.deepEqual(['ca.crt', 'ca.key', 'server.crt', 'server.key'].map((f) => readFileSync(join(out, f), 'utf8')), before, 'nothing touched');
    const forced = runCertsDev({ out, domain: 'grid.test', nodes: 'soc2', force: true });
    assert.equal(forced.caReused, true);
    assert.equal(readFileSync(forced.ca.cert, 'utf8'), before[0], 'the CA is kept even with --force');
    assert.notEqual(readFileSync(forced.server.cert, 'utf8'), before[2], '--force re-issues the server certificate');
    assert.ok(first.nodes.soc1);
  });

  it('certs node issues from the existing CA and touches nothing else', () => {
    const out = join(dir, 'ca-only');
    runCertsDev({ out, domain: 'grid.test', nodes: 'soc1' });
    const files = ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'nodes/soc1.crt', 'nodes/soc1.key'];
    const before = files.map((f) => readFileSync(join(out, f), 'utf8'));
    const issued = runCertsNode(['siem2', 'fw1'], { caDir: out, domain: 'grid.test', ouMap: 'siem2=soc' });
    assert.deepEqual(Object.keys(issued), ['siem2', 'fw1']);
    assert.deepEqual(files.map((f) => readFileSync(join(out, f), 'utf8')), before, 'CA, server and other nodes untouched');
    const ca = new X509Certificate(readFileSync(join(out, 'ca.crt')));
    const siem2 = new X509Certificate(readFileSync(issued.siem2!.cert));
    assert.ok(siem2.checkIssued(ca) && siem2.verify(ca.publicKey), 'issued by the existing CA');
    assert.equal(describeCertificate(readFileSync(issued.siem2!.cert, 'utf8')).subject.OU, 'soc');
    assert.deepEqual(describeCertificate(readFileSync(issued.fw1!.cert, 'utf8')).xmppAddrs, ['fw1@grid.test']);
    assert.equal(statSync(issued.fw1!.key).mode & 0o777, 0o600);
    assert.throws(() => runCertsNode(['x'], { caDir: join(dir, 'nowhere'), domain: 'grid.test' }), /ca\.crt does not exist: --ca-dir names the folder/);
  });
});
