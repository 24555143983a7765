// The shared HTTPS server (src/https): client certificates checked as §2 checks them (chain,
// CRL, xmppAddr), HTTP Basic tokens, and the 401/403 split of PROTOCOL §13 "Identity".
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccountService } from '../../src/accounts/service.js';
import { silentLogger } from '../../src/log.js';
import { createCa, createCrl, issueNodeCert, issueServerCert } from '../../src/identity/devcerts.js';
import { createHttps } from '../../src/https/index.js';
import { account, memoryStore, POLICY, seededState } from './admin-fixtures.js';
import { trustFor } from '../helpers/pki.js';
import { httpsClient } from '../helpers/https-client.js';
import type { Trust } from '../../src/identity/types.js';

const dir = mkdtempSync(join(tmpdir(), 'grid-https-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ca = createCa({ O: 'Test Grid', CN: 'Test Grid Root' });
const otherCa = createCa({ O: 'Other', CN: 'Other Root' });
const server = issueServerCert(ca, { domain: 'grid.test', altNames: ['localhost'] });
writeFileSync(join(dir, 's.crt'), server.certPem);
writeFileSync(join(dir, 's.key'), server.keyPem);
const node1 = issueNodeCert(ca, { xmppAddr: 'node1@grid.test', keyType: 'ec' });
const pending = issueNodeCert(ca, { xmppAddr: 'pending@grid.test', keyType: 'ec' });
const stranger = issueNodeCert(ca, { xmppAddr: 'nobody@grid.test', keyType: 'ec' });
const foreign = issueNodeCert(otherCa, { xmppAddr: 'node1@grid.test', keyType: 'ec' });
const revoked = issueNodeCert(ca, { xmppAddr: 'node1@grid.test', keyType: 'ec' });

const store = memoryStore(seededState(account('node1@grid.test', 'approved'), account('pending@grid.test', 'pending'), account('node2@grid.test', 'approved')));
const accounts = new AccountService({ store, policy: POLICY, trust: () => trust, verify: () => { throw new Error('unused'); }, log: silentLogger() });
let trust: Trust = trustFor(ca);

async function start(basic: boolean) {
  const https = createHttps({ listen: '127.0.0.1:0', certFile: join(dir, 's.crt'), keyFile: join(dir, 's.key'), basic, bodyLimit: 1024, accounts, trust: () => trust, log: silentLogger() });
  https.mount(async (app) => {
    app.get('/who', async (req, reply) => (req.grid.ok ? { jid: req.grid.jid, via: req.grid.via } : reply.code(req.grid.status).send({ refused: req.grid.reason })));
    app.post('/echo', async (req) => ({ n: JSON.stringify(req.body).length }));
  }, '/t');
  const base = await https.listen();
  return { https, get: httpsClient({ base, ca: ca.certPem }) };
}

test('a client certificate from the trust anchors names its xmppAddr; trailing slash optional', async (t) => {
  const { https, get } = await start(false);
  t.after(() => https.close());
  for (const p of ['/t/who', '/t/who/']) {
    const r = await get(p, { cert: node1 });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { jid: 'node1@grid.test', via: 'certificate' });
  }
  assert.equal((await get('/t/who', { cert: null })).status, 401, 'no certificate');
  assert.equal((await get('/t/who', { cert: foreign })).status, 401, 'another CA');
  assert.equal((await get('/t/who', { cert: pending })).status, 403, 'pending account');
  assert.equal((await get('/t/who', { cert: stranger })).status, 403, 'no account');
  const big = await get('/t/echo', { cert: node1, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ x: 'y'.repeat(2000) }) });
  assert.equal(big.status, 413);
});

test('a CRL naming the certificate refuses it (401), as registration would', async (t) => {
  const { https, get } = await start(false);
  t.after(() => https.close());
  const serial = new (await import('node:crypto')).X509Certificate(revoked.certPem).serialNumber;
  trust = trustFor(ca, { crls: [createCrl(ca, [serial])] });
  t.after(() => { trust = trustFor(ca); });
  assert.equal((await get('/t/who', { cert: revoked })).status, 401);
  assert.equal((await get('/t/who', { cert: node1 })).status, 200);
});

test('HTTP Basic with the account token; a mismatch with the certificate is 401', async (t) => {
  const { https, get } = await start(true);
  t.after(() => https.close());
  const tok = await accounts.issueToken('node2@grid.test', 'cli');
  assert.ok('ok' in tok);
  const token = tok.value;
  const r = await get('/t/who', { cert: null, basic: { user: 'node2@grid.test', password: token } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { jid: 'node2@grid.test', via: 'basic' });
  const bad = await get('/t/who', { cert: null, basic: { user: 'node2@grid.test', password: 'x' + token } });
  assert.equal(bad.status, 401);
  assert.equal((await get('/t/who', { cert: node1, basic: { user: 'node2@grid.test', password: token } })).status, 401, 'certificate and Basic name different accounts');
  const again = await accounts.issueToken('node2@grid.test', 'cli');
  assert.ok('ok' in again);
  assert.equal((await get('/t/who', { cert: null, basic: { user: 'node2@grid.test', password: token } })).status, 401, 'a new token replaces the old');
  await accounts.revokeToken('node2@grid.test', 'cli');
  assert.equal((await get('/t/who', { cert: null, basic: { user: 'node2@grid.test', password: again.value } })).status, 401, 'revoked');
  assert.ok(!JSON.stringify(store.data).includes(again.value), 'only the hash is stored');
});
