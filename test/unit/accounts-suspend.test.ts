// The `suspended` state (README "Rate limits"): only approved accounts are suspended, the gate
// answers account-suspended, registering again does not lift it, an administrator does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccountService, EMPTY_ACCOUNTS } from '../../src/accounts/service.js';
import type { Account, AccountChange } from '../../src/accounts/types.js';
import { silentLogger } from '../../src/log.js';
import { memoryStore } from '../helpers/fakes.js';
import { ok } from '../../src/result.js';

const JID = 'node1@grid.test';
const cert = { fingerprint: 'AA', serial: '01', subject: { OU: 'soc', CN: 'node1' }, issuer: { O: 'Grid Dev CA' }, notBefore: '2020-01-01T00:00:00.000Z', notAfter: '2099-01-01T00:00:00.000Z', xmppAddrs: [JID], keyType: 'rsa' as const };

function setup() {
  const svc = new AccountService({
    store: memoryStore(EMPTY_ACCOUNTS), log: silentLogger(), trust: () => ({ anchors: [], crls: [], identity: 'xmppaddr', warnings: [] }),
    verify: () => ok(cert),
    policy: { autoApprove: () => ({ id: 'auto1', groups: ['soc'] }), declaredGroups: () => ['soc'], admins: () => ['admin@grid.test'] },
  });
  const changes: AccountChange[] = [];
  const suspended: [Account, string][] = [];
  svc.on('change', (c) => changes.push(c));
  svc.on('suspended', (a, why) => suspended.push([a, why]));
  const submit = () => svc.register(JID, { challenge: svc.challenge(JID), certificatePem: 'x', signature: 'y', groups: [], deviceType: 'siem' });
  return { svc, changes, suspended, submit };
}

test('suspend keeps the groups, gates like revoked with its own condition, and tells who and why', async () => {
  const { svc, changes, suspended, submit } = setup();
  await submit();
  const r = await svc.suspend(JID, 'auto:rate-limit', 'too many requests');
  assert.ok('ok' in r);
  assert.equal(r.value.status, 'suspended');
  assert.deepEqual(r.value.groups, ['soc']);
  assert.equal(svc.gate(JID)?.fail, 'account-suspended');
  assert.deepEqual(changes.at(-1), { jid: JID, status: 'suspended', groups: ['soc'], by: 'auto:rate-limit', reason: 'too many requests', previous: { status: 'approved', groups: ['soc'] } });
  assert.deepEqual(suspended.map(([a, why]) => [a.jid, why]), [[JID, 'too many requests']]);
  assert.equal(svc.list('suspended').length, 1);
});

test('registering again keeps the suspension; unsuspend approves again with the same groups', async () => {
  const { svc, changes, submit } = setup();
  await submit();
  await svc.suspend(JID, 'auto:rate-limit', 'x');
  const again = await submit();
  assert.ok('ok' in again);
  assert.equal(again.value.status, 'suspended');
  const u = await svc.unsuspend(JID, 'admin:admin@grid.test');
  assert.ok('ok' in u);
  assert.deepEqual([u.value.status, u.value.groups, u.value.decidedBy], ['approved', ['soc'], 'admin:admin@grid.test']);
  assert.equal(svc.gate(JID), null);
  assert.equal(changes.at(-1)?.reason, 'suspension lifted');
});

test('only an approved account can be suspended, only a suspended one lifted', async () => {
  const { svc, suspended, submit } = setup();
  assert.equal((await svc.suspend('ghost@grid.test', 'cli', 'x') as { fail: string }).fail, 'item-not-found');
  await submit();
  assert.match((await svc.unsuspend(JID, 'cli') as { text: string }).text, /the account is approved, not suspended/);
  await svc.revoke(JID, 'cli');
  assert.match((await svc.suspend(JID, 'cli', 'x') as { text: string }).text, /the account is revoked, not approved/);
  assert.equal(suspended.length, 0);
});
