// Revocation of accounts already approved: CRLs and certificate expiry (the sweep), with
// real certificates and CRLs, the real verifier, and a hand-driven clock and timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccountService, EMPTY_ACCOUNTS } from '../../src/accounts/service.js';
import { MAX_TIMER_MS, RevocationSweep, type Timers } from '../../src/accounts/revocation-sweep.js';
import type { AccountChange, AccountPolicy } from '../../src/accounts/types.js';
import { createCa, createCrl } from '../../src/identity/issue.js';
import { describeCertificate } from '../../src/identity/certinfo.js';
import { signChallenge } from '../../src/identity/pop.js';
import { verifyRegistration } from '../../src/identity/verify.js';
import type { Pem, Trust } from '../../src/identity/types.js';
import { silentLogger } from '../../src/log.js';
import { memoryStore, recordingTurns } from '../helpers/fakes.js';
import { node, testPki, trustFor } from '../helpers/pki.js';

const JID = 'node9@grid.test';
const DAY = 864e5;

function setup(opts: { now: () => number; auto?: boolean }) {
  const { ca } = testPki();
  let trust: Trust = trustFor(ca);
  const policy: AccountPolicy = {
    autoApprove: () => (opts.auto === false ? null : { id: 'auto1', groups: ['soc'] }),
    declaredGroups: () => ['soc'],
    admins: () => ['admin@grid.test'],
  };
  const accounts = new AccountService({ store: memoryStore(EMPTY_ACCOUNTS), policy, trust: () => trust, verify: verifyRegistration, log: silentLogger(), now: () => new Date(opts.now()) });
  const changes: AccountChange[] = [];
  accounts.on('change', (c) => changes.push(c));
  const armed: { fn: () => void; ms: number }[] = [];
  const timers: Timers = { set: (fn, ms) => armed.push({ fn, ms }), clear: () => armed.splice(0) };
  const errors: string[] = [];
  const log = { ...silentLogger(), error: (o: object, m?: string) => errors.push(`${m} ${JSON.stringify(o)}`) } as unknown as ReturnType<typeof silentLogger>;
  const sweep = new RevocationSweep({ accounts, trust: () => trust, log, now: opts.now, timers });
  const register = async (pem: Pem) => {
    const challenge = accounts.challenge(JID);
    const r = await accounts.register(JID, { challenge, certificatePem: pem.certPem, signature: signChallenge(pem.keyPem, challenge), groups: [] });
    assert.ok('ok' in r, JSON.stringify(r));
    sweep.rearm();
    return r.value;
  };
  return { ca, accounts, changes, armed, errors, sweep, register, setTrust: (t: Trust) => (trust = t) };
}

test('at notAfter the timer revokes the account (system:expiry); a renewed certificate is judged afresh', async () => {
  let now = Date.now();
  const t = setup({ now: () => now });
  const cert = node({ xmppAddr: JID, OU: 'soc', notBefore: new Date(now - DAY), notAfter: new Date(now + 10 * 60_000) });
  const a = await t.register(cert);
  assert.equal(a.status, 'approved');
  const notAfter = Date.parse(a.cert.notAfter);
  assert.equal(t.sweep.armedFor, notAfter, 'the timer is armed for the certificate\'s notAfter');
  assert.equal(t.armed.at(-1)!.ms, notAfter - now);
  now = notAfter;
  t.armed.at(-1)!.fn();
  assert.equal(await t.sweep.sweep('test'), 0, 'the timer\'s sweep already revoked it');
  const after = t.accounts.get(JID)!;
  assert.deepEqual([after.status, after.decidedBy, after.groups], ['revoked', 'system:expiry', []]);
  const change = t.changes.at(-1)!;
  assert.deepEqual([change.status, change.by], ['revoked', 'system:expiry']);
  assert.match(change.reason, /expired on/);
  // The node renews its certificate: auto-approval applies again, as for a first registration.
  const renewed = node({ xmppAddr: JID, OU: 'soc', notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY) });
  assert.equal((await t.register(renewed)).status, 'approved');
});

test('an expiry beyond setTimeout\'s 2^31 ms limit is waited for in steps', async () => {
  let now = Date.now();
  const t = setup({ now: () => now });
  const a = await t.register(node({ xmppAddr: JID, OU: 'soc', notBefore: new Date(now - DAY), notAfter: new Date(now + 100 * DAY) }));
  assert.equal(t.armed.at(-1)!.ms, MAX_TIMER_MS, 'never more than 2^31-1 ms (a larger delay would fire at once)');
  now += MAX_TIMER_MS;
  t.armed.at(-1)!.fn();
  await t.sweep.sweep('test');
  assert.equal(t.accounts.get(JID)!.status, 'approved', 'not yet expired');
  assert.equal(t.armed.at(-1)!.ms, Math.min(Date.parse(a.cert.notAfter) - now, MAX_TIMER_MS));
});

test('a CRL listing an approved account\'s certificate revokes it (system:crl); an unverifiable CRL revokes nothing', async () => {
  const now = Date.now();
  const t = setup({ now: () => now });
  const cert = node({ xmppAddr: JID, OU: 'soc' });
  assert.equal((await t.register(cert)).status, 'approved');
  const serial = describeCertificate(cert.certPem).serial;
  // Same issuer name, another key: the CRL's signature does not verify with the recorded issuer key.
  const impostor: Pem = createCa({ O: 'Test Grid', CN: 'Test Grid Root' });
  t.setTrust({ ...trustFor(t.ca), crls: trustFor(impostor, { crls: [createCrl(impostor, [serial])] }).crls });
  assert.equal(await t.sweep.sweep('test'), 0);
  assert.equal(t.accounts.get(JID)!.status, 'approved');
  assert.match(t.errors.join('\n'), /cannot be verified/);
  t.setTrust(trustFor(t.ca, { crls: [createCrl(t.ca, ['7F'])] }));
  assert.equal(await t.sweep.sweep('test'), 0, 'a CRL of the issuer that lists other serials');
  t.setTrust(trustFor(t.ca, { crls: [createCrl(t.ca, ['7F', serial])] }));
  assert.equal(await t.sweep.sweep('test'), 1);
  const a = t.accounts.get(JID)!;
  assert.deepEqual([a.status, a.decidedBy], ['revoked', 'system:crl']);
  assert.match(t.changes.at(-1)!.reason, new RegExp(`serial ${serial} is revoked by the CRL`));
  assert.equal(await t.sweep.sweep('again'), 0, 'a revoked account is not revoked twice');
});

test('a pending account on a CRL is revoked too; an administrator\'s revocation stays sticky', async () => {
  const now = Date.now();
  const t = setup({ now: () => now, auto: false });
  const cert = node({ xmppAddr: JID, OU: 'soc' });
  assert.equal((await t.register(cert)).status, 'pending');
  t.setTrust(trustFor(t.ca, { crls: [createCrl(t.ca, [describeCertificate(cert.certPem).serial])] }));
  assert.equal(await t.sweep.sweep('test'), 1);
  assert.equal(t.accounts.get(JID)!.status, 'revoked');
  await t.accounts.revoke(JID, 'cli');
  t.setTrust(trustFor(t.ca));
  assert.equal((await t.register(node({ xmppAddr: JID, OU: 'soc' }))).status, 'revoked', 'an administrator\'s no is not undone');
});

test('revoke with a fingerprint leaves an account that registered another certificate meanwhile', async () => {
  const now = Date.now();
  const t = setup({ now: () => now });
  await t.register(node({ xmppAddr: JID, OU: 'soc' }));
  const r = await t.accounts.revoke(JID, 'system:crl', { fingerprint: 'AA:BB', reason: 'x' });
  assert.equal((r as { fail: string }).fail, 'conflict');
  assert.equal(t.accounts.get(JID)!.status, 'approved');
});

test('rearm(jid) looks at that account only: an earlier notAfter re-arms, a later one leaves the timer', async () => {
  const now = Date.now();
  const t = setup({ now: () => now });
  await t.register(node({ xmppAddr: JID, OU: 'soc', notBefore: new Date(now - DAY), notAfter: new Date(now + 100 * DAY) }));
  assert.equal(t.sweep.armedFor, now + MAX_TIMER_MS);
  const submit = async (notAfter: Date) => {
    const pem = node({ xmppAddr: JID, OU: 'soc', notBefore: new Date(now - DAY), notAfter });
    const challenge = t.accounts.challenge(JID);
    await t.accounts.register(JID, { challenge, certificatePem: pem.certPem, signature: signChallenge(pem.keyPem, challenge), groups: [] });
    t.sweep.rearm(JID);
  };
  await submit(new Date(now + 600_000));
  assert.equal(t.sweep.armedFor, Date.parse(t.accounts.get(JID)!.cert.notAfter));
  const armed = t.sweep.armedFor;
  await submit(new Date(now + 50 * DAY));
  assert.equal(t.sweep.armedFor, armed, 'a later notAfter does not re-arm (the early timer re-arms in full when it fires)');
});

test('in a cluster a sweep runs inside the instances\' turn, catches up first, and says what it did', async () => {
  const now = Date.now();
  const t = setup({ now: () => now });
  const cert = node({ xmppAddr: JID, OU: 'soc' });
  await t.register(cert);
  const serial = describeCertificate(cert.certPem).serial;
  t.setTrust(trustFor(t.ca, { crls: [createCrl(t.ca, [serial])] }));
  const steps: string[] = [];
  const sweep = new RevocationSweep({
    accounts: t.accounts, trust: () => trustFor(t.ca, { crls: [createCrl(t.ca, [serial])] }), log: silentLogger(), now: () => now,
    timers: { set: () => 0, clear: () => undefined },
    ...recordingTurns(steps),
  });
  t.accounts.on('change', () => steps.push('revoked'));
  const swept = new Promise((r) => sweep.once('swept', r));
  assert.equal(await sweep.sweep('crl change'), 1);
  assert.deepEqual(await swept, { why: 'crl change', revoked: 1 });
  assert.deepEqual(steps, ['lock', 'sync', 'revoked', 'unlock']);
});
