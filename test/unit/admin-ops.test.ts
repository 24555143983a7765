// The admin operations table: argument checks and dispatch (PROTOCOL §10, §11).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountOps, parseArgs, runOp, splitGroups } from '../../src/admin/ops.js';
import type { AdminOpName } from '../../src/admin/types.js';
import { makeService } from './admin-fixtures.js';

const cases: [AdminOpName, unknown, string | null][] = [
  ['accounts.list', undefined, null],
  ['accounts.list', {}, null],
  ['accounts.list', { status: 'pending' }, null],
  ['accounts.list', { status: 'sleeping' }, 'status must be one of pending, approved, denied, revoked, suspended'],
  ['accounts.list', [], 'args must be a JSON object'],
  ['accounts.approve', { jid: 'node1@grid.test' }, null],
  ['accounts.approve', { jid: 'node1@grid.test/siem', groups: ['soc'] }, null],
  ['accounts.approve', {}, 'jid is required'],
  ['accounts.approve', { jid: 'node1' }, 'jid must be a JID'],
  ['accounts.approve', { jid: 'a b@grid.test' }, 'jid must be a JID'],
  ['accounts.approve', { jid: 'x@grid.test', groups: 'soc' }, 'groups must be a list'],
  ['accounts.approve', { jid: 'x@grid.test', groups: [''] }, 'groups must be a list'],
  ['accounts.approve', { jid: 'x@grid.test', admin: true }, 'unknown argument admin'],
  ['accounts.set-groups', { jid: 'x@grid.test' }, 'groups is required'],
  ['accounts.set-groups', { jid: 'x@grid.test', groups: [] }, null],
  ['accounts.remove', { jid: 5 }, 'jid must be a JID'],
  ['stats', { verbose: true }, 'unknown argument verbose'],
];

for (const [op, args, problem] of cases) {
  test(`parseArgs ${op} ${JSON.stringify(args)} → ${problem ?? 'ok'}`, () => {
    const r = parseArgs(op, args);
    if (problem === null) assert.ok('ok' in r, JSON.stringify(r));
    else {
      assert.ok('fail' in r);
      assert.equal(r.fail, 'bad-request');
      assert.match(r.text ?? '', new RegExp(problem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    }
  });
}

test('splitGroups trims and drops empty names', () => {
  assert.deepEqual(splitGroups(' soc, partners,,'), ['soc', 'partners']);
  assert.deepEqual(splitGroups(''), []);
});

test('runOp: unknown op, missing hook, bad args, service failure, success', async () => {
  const { service, store } = makeService();
  const ops = accountOps(service, 'cli');
  assert.deepEqual(await runOp(ops, 'accounts.drop', {}), { ok: false, error: { code: 'unknown-op', text: 'unknown op "accounts.drop" (known: accounts.list, accounts.show, accounts.approve, accounts.deny, accounts.revoke, accounts.set-groups, accounts.remove, accounts.unsuspend, accounts.token, topics.list, policy.reload, stats, status)' } });
  const noHook = await runOp(ops, 'stats', {});
  assert.equal(noHook.ok, false);
  assert.equal(!noHook.ok && noHook.error.code, 'unavailable');
  const bad = await runOp(ops, 'accounts.deny', { jid: 'nope' });
  assert.equal(!bad.ok && bad.error.code, 'bad-request');
  const missing = await runOp(ops, 'accounts.deny', { jid: 'ghost@grid.test' });
  assert.deepEqual(missing, { ok: false, error: { code: 'item-not-found', text: 'no account ghost@grid.test' } });
  const done = await runOp(ops, 'accounts.deny', { jid: 'Node1@grid.test' });
  assert.equal(done.ok, true);
  assert.equal(store.data.accounts['node1@grid.test']!.status, 'denied');
  assert.equal(store.data.accounts['node1@grid.test']!.decidedBy, 'cli');
});

test('accounts.list reports the effective status of an expired approval', async () => {
  const { service } = makeService();
  const a = service.get('node2@grid.test')!;
  a.cert.notAfter = '2001-01-01T00:00:00.000Z';
  const r = await runOp(accountOps(service, 'cli'), 'accounts.list', { status: 'revoked' });
  assert.ok(r.ok);
  const rows = r.result as { jid: string; status: string; effective: string }[];
  assert.deepEqual(rows.map((x) => [x.jid, x.status, x.effective]), [['node2@grid.test', 'approved', 'revoked']]);
});
