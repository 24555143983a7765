// Registration, approval and the gate on a real Prosody with real certificates (PROTOCOL §1, §2).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
const run = promisify(execFile);
import { xml } from '@xmpp/client';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import { createCa, issueNodeCert, createCrl } from '../../src/identity/issue.js';
import { signChallenge } from '../../src/identity/pop.js';
import { describeCertificate } from '../../src/identity/certinfo.js';
import type { Pem } from '../../src/identity/types.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { CTL, NS_GRID, NS_REG, challengeOf, getRegistration, groupsOf, id, isAccountMessage, register, submitStanza, refusal } from '../helpers/grid-client.js';

let grid: DevGrid;
let ca: Pem;
const conns: NodeConnection[] = [];
const CLI = join(process.cwd(), 'dist/src/cli/grid-controller.js');

before(async () => {
  grid = await startDevGrid({
    controller: false,
    nodes: [
      { name: 'soc1', OU: 'soc' },
      { name: 'analyst', OU: 'research' },
      { name: 'sandbox1', OU: 'malware-lab' },
      { name: 'victim', OU: 'research' },
      { name: 'admin', OU: 'it' },
      { name: 'ecsoc', OU: 'soc', keyType: 'ec' },
    ],
  });
  ca = { certPem: readFileSync(grid.pki.ca.cert, 'utf8'), keyPem: readFileSync(grid.pki.ca.key, 'utf8') };
  // A CRL revoking a certificate we issue below for victim@grid.test; configured before start.
  const revoked = issueNodeCert(ca, { xmppAddr: 'victim@grid.test', O: 'Grid Dev', OU: 'research', CN: 'victim-old' });
  writeFileSync(join(grid.workDir, 'revoked.pem'), revoked.certPem);
  writeFileSync(join(grid.workDir, 'revoked.key'), revoked.keyPem);
  writeFileSync(join(grid.workDir, 'ca.crl'), createCrl(ca, [describeCertificate(revoked.certPem).serial]));
  grid.cfg.trust.crl = [join(grid.workDir, 'ca.crl')];
  await grid.startController();
});

after(async () => {
  for (const c of conns) await c.close().catch(() => {});
  await grid?.stop();
});

async function node(name: string): Promise<NodeConnection> {
  const c = await grid.connect(name);
  conns.push(c);
  return c;
}


const discoItems = () => xml('iq', { type: 'get', to: CTL, id: id('di') }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' }));

test('disco#info on the controller answers an unregistered node (§1 exempt, §3)', async () => {
  const c = await node('analyst');
  const r = await c.iq(xml('iq', { type: 'get', to: CTL, id: id('d') }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  const q = r.getChild('query')!;
  const features = q.getChildren('feature').map((f) => f.attrs.var);
  assert.ok(features.includes('jabber:iq:register'));
  assert.ok(features.includes('urn:xmpp-grid:0'));
  assert.deepEqual(q.getChildren('identity').map((i) => i.attrs.category), ['pubsub', 'component']);
});

test('a JID without an account gets registration-required for grid operations', async () => {
  const c = await node('analyst');
  const e = await refusal(c.iq(discoItems()));
  assert.equal(e.type, 'auth');
  assert.equal(e.condition, 'registration-required');
});

test('every refusal path of §2 answers its exact error', async () => {
  const c = await node('analyst');
  const files = grid.pki.nodes.analyst!;
  const certPem = readFileSync(files.cert, 'utf8');
  const keyPem = readFileSync(files.key, 'utf8');
  const fresh = async () => challengeOf(await getRegistration(c));

  // 1. challenge unknown / replayed / issued to another JID → modify not-acceptable
  let e = await refusal(c.iq(submitStanza({ challenge: 'made-up', certPem, signature: signChallenge(keyPem, 'made-up') })));
  assert.deepEqual([e.type, e.condition], ['modify', 'not-acceptable']);
  const ch = await fresh();
  e = await refusal(c.iq(submitStanza({ challenge: ch, certPem: 'garbage', signature: 'AA==' })));
  assert.deepEqual([e.type, e.condition], ['modify', 'bad-request'], 'unparsable PEM');
  e = await refusal(c.iq(submitStanza({ challenge: ch, certPem, signature: signChallenge(keyPem, ch) })));
  assert.deepEqual([e.type, e.condition], ['modify', 'not-acceptable'], 'replayed challenge (used up by the failed submission)');
  const other = await grid.connect('victim');
  conns.push(other);
  const stolen = challengeOf(await getRegistration(other));
  e = await refusal(c.iq(submitStanza({ challenge: stolen, certPem, signature: signChallenge(keyPem, stolen) })));
  assert.deepEqual([e.type, e.condition], ['modify', 'not-acceptable'], 'challenge issued to another JID');

  // 3. rogue CA, expired, on the CRL → auth not-authorized with a text
  const rogue = issueNodeCert(createCa({ O: 'Rogue CA' }), { xmppAddr: 'analyst@grid.test', OU: 'research' });
  let x = await fresh();
  e = await refusal(c.iq(submitStanza({ challenge: x, certPem: rogue.certPem, signature: signChallenge(rogue.keyPem, x) })));
  assert.deepEqual([e.type, e.condition], ['auth', 'not-authorized'], 'rogue CA');
  assert.ok(e.text && e.text.length > 0);
  const expired = issueNodeCert(ca, { xmppAddr: 'analyst@grid.test', notBefore: new Date(Date.now() - 20 * 864e5), notAfter: new Date(Date.now() - 864e5) });
  x = await fresh();
  e = await refusal(c.iq(submitStanza({ challenge: x, certPem: expired.certPem, signature: signChallenge(expired.keyPem, x) })));
  assert.deepEqual([e.type, e.condition], ['auth', 'not-authorized'], 'expired certificate');
  assert.match(e.text ?? '', /expire|valid/i);

  // 4. xmppAddr of another JID → auth forbidden
  const victimFiles = grid.pki.nodes.victim!;
  x = await fresh();
  e = await refusal(c.iq(submitStanza({ challenge: x, certPem: readFileSync(victimFiles.cert, 'utf8'), signature: signChallenge(readFileSync(victimFiles.key, 'utf8'), x) })));
  assert.deepEqual([e.type, e.condition], ['auth', 'forbidden'], 'xmppAddr of another JID');

  // 5. wrong signature → auth not-authorized
  x = await fresh();
  e = await refusal(c.iq(submitStanza({ challenge: x, certPem, signature: signChallenge(keyPem, `${x}-tampered`) })));
  assert.deepEqual([e.type, e.condition], ['auth', 'not-authorized'], 'wrong signature');

  // Nothing above created an account.
  assert.equal(grid.controller!.accounts.get('analyst@grid.test'), undefined);
});

test('a certificate on a configured CRL is refused', async () => {
  const c = await node('victim');
  const x = challengeOf(await getRegistration(c));
  const e = await refusal(c.iq(submitStanza({
    challenge: x, certPem: readFileSync(join(grid.workDir, 'revoked.pem'), 'utf8'),
    signature: signChallenge(readFileSync(join(grid.workDir, 'revoked.key'), 'utf8'), x),
  })));
  assert.deepEqual([e.type, e.condition], ['auth', 'not-authorized']);
  assert.match(e.text ?? '', /revoked|CRL/i);
});

test('auto-approval by policy: a SOC certificate is approved at once and told so', async () => {
  const c = await node('soc1');
  const msg = c.waitFor(isAccountMessage('approved'));
  await register(c, grid.pki.nodes.soc1!, { deviceType: 'siem' });
  const m = await msg;
  assert.deepEqual(groupsOf(m.getChild('account', NS_GRID)!), ['soc']);
  // The gate now lets it through.
  const r = await c.iq(discoItems());
  assert.equal(r.attrs.type, 'result');
  const q = await getRegistration(c);
  assert.ok(q.getChild('registered'));
  assert.equal(q.getChild('account', NS_GRID)?.attrs.status, 'approved');
});

test('an ECDSA P-256 certificate logs in and registers (proof of possession with ECDSA)', async () => {
  const c = await node('ecsoc');
  const msg = c.waitFor(isAccountMessage('approved'));
  await register(c, grid.pki.nodes.ecsoc!, { deviceType: 'ids' });
  await msg;
  assert.equal(grid.controller!.accounts.get('ecsoc@grid.test')?.cert.keyType, 'ec');
});

test('pending → approved through the CLI while the controller runs; the node and admin hear of it', async () => {
  const adm = await node('admin');
  const c = await node('analyst');
  const adminNote = adm.waitFor((s) => s.name === 'message' && /analyst@grid\.test .*waits for approval/.test(s.getChildText('body') ?? ''));
  const pending = c.waitFor(isAccountMessage('pending'));
  await register(c, grid.pki.nodes.analyst!, { groups: ['partners'], deviceType: 'tip' });
  await pending;
  await adminNote;
  const e = await refusal(c.iq(discoItems()));
  assert.deepEqual([e.type, e.condition, e.appCondition?.name], ['auth', 'forbidden', 'account-pending']);

  const approved = c.waitFor(isAccountMessage('approved'));
  // The controller runs in this process: the CLI must run asynchronously (spawnSync would block the socket it talks to).
  const cli = await run(process.execPath, [CLI, 'accounts', 'approve', 'analyst@grid.test'], { env: { ...process.env, GRID_DATA: grid.cfg.data, GRID_POLICIES: grid.cfg.policies } });
  assert.match(cli.stdout, /analyst@grid\.test/);
  const m = await approved;
  assert.deepEqual(groupsOf(m.getChild('account', NS_GRID)!), ['partners'], 'the requested groups the policy declares');
  assert.equal((await c.iq(discoItems())).attrs.type, 'result');
});

test('revoke takes effect at once; restart keeps every account', async () => {
  const c = await node('sandbox1');
  const approved = c.waitFor(isAccountMessage('approved'));
  await register(c, grid.pki.nodes.sandbox1!, { deviceType: 'sandbox', groups: ['providers'] });
  assert.deepEqual(groupsOf((await approved).getChild('account', NS_GRID)!), ['providers']);
  const revoked = c.waitFor(isAccountMessage('revoked'));
  const r = await grid.controller!.accounts.revoke('sandbox1@grid.test', 'test');
  assert.ok('ok' in r);
  await revoked;
  const e = await refusal(c.iq(discoItems()));
  assert.deepEqual([e.condition, e.appCondition?.name], ['forbidden', 'account-revoked']);

  const before = grid.controller!.accounts.list().map((a) => `${a.jid}:${a.status}:${a.groups.join('+')}`);
  await grid.stopController();
  await grid.startController();
  const after = grid.controller!.accounts.list().map((a) => `${a.jid}:${a.status}:${a.groups.join('+')}`);
  assert.deepEqual(after, before);
  assert.ok(after.includes('sandbox1@grid.test:revoked:'));
  // The node reads its state with the registration get.
  const q = await getRegistration(c);
  assert.equal(q.getChild('account', NS_GRID)?.attrs.status, 'revoked');
});

test('<remove/> deletes the account', async () => {
  const c = await node('soc1');
  await c.iq(xml('iq', { type: 'set', to: CTL, id: id('rm') }, xml('query', { xmlns: NS_REG }, xml('remove'))));
  assert.equal(grid.controller!.accounts.get('soc1@grid.test'), undefined);
  const e = await refusal(c.iq(discoItems()));
  assert.equal(e.condition, 'registration-required');
});
