// Certificates for production, end to end on a real Prosody: the node makes its key and CSR
// (`grid-node csr`), the operator's CA signs it (`grid-controller certs sign`), and the node
// logs in with SASL EXTERNAL, registers and is approved — the key never left its folder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import { normalizeSerial } from '../../src/identity/asn1.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { isAccountMessage, register, groupsOf, NS_GRID } from '../helpers/grid-client.js';

const CONTROLLER = join(process.cwd(), 'dist/src/cli/grid-controller.js');
const NODE = join(process.cwd(), 'dist/src/agent/cli/grid-node.js');
let grid: DevGrid;
let conn: NodeConnection | undefined;

before(async () => {
  grid = await startDevGrid({ nodes: ['soc1'] });
});
after(async () => {
  await conn?.close().catch(() => {});
  await grid?.stop();
});

function run(cli: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

test('a node with a CSR-signed certificate registers and is approved', async () => {
  const nodeDir = join(grid.workDir, 'node-soc7');
  const caDir = join(grid.workDir, 'operator');
  mkdirSync(nodeDir);
  mkdirSync(caDir);
  const key = join(nodeDir, 'soc7.key');
  const csr = join(caDir, 'soc7.csr'); // what travels to the operator: the CSR only
  const cert = join(nodeDir, 'soc7.crt');

  const made = await run(NODE, ['csr', '--jid', 'soc7@grid.test', '--ou', 'soc', '--out-key', key, '--out-csr', csr]);
  assert.equal(made.code, 0, made.stderr);
  assert.equal(statSync(key).mode & 0o777, 0o600, 'the key is private to the node');
  const again = await run(NODE, ['csr', '--jid', 'soc7@grid.test', '--out-key', key, '--out-csr', join(nodeDir, 'x.csr')]);
  assert.deepEqual([again.code, again.stderr.trim()], [1, `grid-node: ${key} exists: move it away first (a key is never overwritten)`]);

  const signed = await run(CONTROLLER, ['certs', 'sign', csr, '--ca-cert', grid.pki.ca.cert, '--ca-key', grid.pki.ca.key, '--jid', 'soc7@grid.test', '--days', '30', '--out', cert]);
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stdout, /^issued {4}xmppAddr soc7@grid\.test, EKU clientAuth\nsubject {3}OU=soc, CN=soc7@grid\.test\n/);
  const x = new X509Certificate(readFileSync(cert));
  assert.ok(x.checkIssued(new X509Certificate(readFileSync(grid.pki.ca.cert))));
  assert.ok(x.checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(key))), 'certifies the node\'s own key');
  assert.ok(Date.parse(x.validTo) - Date.now() <= 30 * 86_400_000 + 60_000);

  conn = await grid.connect('soc1', { certFile: cert, keyFile: key });
  assert.equal(conn.jid.split('/')[0], 'soc7@grid.test', 'SASL EXTERNAL took the JID from the xmppAddr SAN');
  const approved = conn.waitFor(isAccountMessage('approved'));
  await register(conn, { cert, key }, { deviceType: 'siem' });
  const msg = await approved;
  assert.deepEqual(groupsOf(msg.getChild('account', NS_GRID)!), ['soc'], 'auto-approved by the dev-ca-soc entry (issuer O, subject OU)');
  assert.equal(grid.controller!.accounts.get('soc7@grid.test')!.cert.serial, normalizeSerial(x.serialNumber), 'stored as the integer value: no leading zero nibble');
});

test('certs sign refuses a CSR whose signature does not verify, a non-CA issuer, a JID with a resource', async () => {
  const dir = join(grid.workDir, 'bad');
  mkdirSync(dir);
  const key = join(dir, 'n.key');
  const csr = join(dir, 'n.csr');
  assert.equal((await run(NODE, ['csr', '--jid', 'n@grid.test', '--out-key', key, '--out-csr', csr, '-q'])).code, 0);
  // Flip one byte inside the signed part (the subject's CN) and re-armour it.
  const der = Buffer.from(readFileSync(csr, 'utf8').replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const at = der.indexOf(Buffer.from('n@grid.test'));
  der[at] = 'm'.charCodeAt(0);
  const tampered = join(dir, 'tampered.csr');
  writeFileSync(tampered, `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`);
  const ca = ['--ca-cert', grid.pki.ca.cert, '--ca-key', grid.pki.ca.key, '--jid', 'n@grid.test'];
  const t = await run(CONTROLLER, ['certs', 'sign', tampered, ...ca]);
  assert.deepEqual([t.code, t.stderr], [1, "grid-controller certs sign: the certificate request's signature does not verify: it was not made with the key it carries\n"]);
  const nonCa = await run(CONTROLLER, ['certs', 'sign', csr, '--ca-cert', grid.pki.nodes.soc1!.cert, '--ca-key', grid.pki.nodes.soc1!.key, '--jid', 'n@grid.test']);
  assert.deepEqual([nonCa.code, nonCa.stderr], [1, 'grid-controller certs sign: the --ca-cert is not a CA certificate (basicConstraints cA is not true)\n']);
  const badJid = await run(CONTROLLER, ['certs', 'sign', csr, ...ca.slice(0, 4), '--jid', 'n@grid.test/res']);
  assert.equal(badJid.code, 1);
  assert.match(badJid.stderr, /is not a bare JID/);
});
