// The account registry without XMPP: re-registration rules, expiry, administrator decisions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccountService, EMPTY_ACCOUNTS } from '../../src/accounts/service.js';
import { ChallengeBook } from '../../src/accounts/challenges.js';
import type { AccountChange, AccountPolicy } from '../../src/accounts/types.js';
import type { RegistrationResult } from '../../src/identity/types.js';
import { silentLogger } from '../../src/log.js';
import { memoryStore } from '../helpers/fakes.js';
import { fail, ok } from '../../src/result.js';

const JID = 'node1@grid.test';
function cert(subject: Record<string, string>, notAfter = '2099-01-01T00:00:00.000Z') {
  return { fingerprint: 'AA', serial: '01', subject, issuer: { O: 'Grid Dev CA' }, notBefore: '2020-01-01T00:00:00.000Z', notAfter, xmppAddrs: [JID], keyType: 'rsa' as const };
}

function setup(opts: { auto?: boolean; now?: () => Date } = {}) {
  let next: RegistrationResult = ok(cert({ OU: 'soc', CN: 'node1' }));
  const policy: AccountPolicy = {
    autoApprove: () => (opts.auto ? { id: 'auto1', groups: ['soc'] } : null),
    declaredGroups: () => ['soc', 'partners'],
    admins: () => ['admin@grid.test'],
  };
  const store = memoryStore(EMPTY_ACCOUNTS);
  const svc = new AccountService({ store, policy, trust: () => ({ anchors: [], crls: [], identity: 'xmppaddr', warnings: [] }), verify: () => next, log: silentLogger(), ...(opts.now ? { now: opts.now } : {}) });
  const changes: AccountChange[] = [];
  svc.on('change', (c) => changes.push(c));
  const submit = (groups: string[] = ['partners']) => svc.register(`${JID}/res`, { challenge: svc.challenge(JID), certificatePem: 'x', signature: 'y', groups, deviceType: 'siem' });
  return { svc, store, changes, submit, setVerify: (r: RegistrationResult) => (next = r) };
}

test('a new account waits; the gate answers account-pending; approval assigns declared requested groups', async () => {
  const { svc, changes, submit } = setup();
  const r = await submit(['partners', 'undeclared']);
  assert.ok('ok' in r && r.value.status === 'pending');
  assert.equal(svc.gate(JID)?.fail, 'account-pending');
  const a = await svc.approve(JID, 'admin:admin@grid.test');
  assert.ok('ok' in a);
  assert.deepEqual(a.value.groups, ['partners']);
  assert.equal(svc.gate(JID), null);
  assert.deepEqual(changes.map((c) => c.status), ['pending', 'approved']);
});

test('auto-approval gives the entry groups and says who decided', async () => {
  const { svc, submit } = setup({ auto: true });
  const r = await submit();
  assert.ok('ok' in r);
  assert.equal(r.value.status, 'approved');
  assert.deepEqual(r.value.groups, ['soc']);
  assert.equal(r.value.decidedBy, 'auto:auto1');
  assert.equal(svc.get(JID)?.decidedBy, 'auto:auto1');
});

test('re-registration: same subject and issuer stays approved; a new subject goes back to pending', async () => {
  const { svc, submit, setVerify } = setup();
  await submit();
  await svc.approve(JID, 'cli', ['soc']);
  assert.equal(((await submit()) as { value: { status: string } }).value.status, 'approved');
  setVerify(ok(cert({ OU: 'elsewhere', CN: 'node1' })));
  assert.equal(((await submit()) as { value: { status: string } }).value.status, 'pending');
});

test('an administrator’s revocation is not undone by registering again', async () => {
  const { svc, submit } = setup({ auto: true });
  await submit();
  await svc.revoke(JID, 'cli');
  const r = await submit();
  assert.ok('ok' in r);
  assert.equal(r.value.status, 'revoked');
  assert.equal(svc.gate(JID)?.fail, 'account-revoked');
});

test('an approved account whose certificate expired counts as revoked until it registers again', async () => {
  let now = new Date('2030-01-01T00:00:00Z');
  const { svc, submit, setVerify } = setup({ auto: true, now: () => now });
  setVerify(ok(cert({ OU: 'soc' }, '2030-06-01T00:00:00.000Z')));
  await submit();
  assert.equal(svc.gate(JID), null);
  now = new Date('2030-07-01T00:00:00Z');
  assert.equal(svc.gate(JID)?.fail, 'account-revoked');
  assert.equal(svc.list('revoked').length, 1);
  setVerify(ok(cert({ OU: 'soc' }, '2031-06-01T00:00:00.000Z')));
  await submit();
  assert.equal(svc.gate(JID), null);
});

test('verification failures are returned as their code, and nothing is stored', async () => {
  const { svc, submit, setVerify } = setup();
  setVerify(fail('untrusted', 'rogue CA'));
  const r = await submit();
  assert.equal((r as { fail: string }).fail, 'untrusted');
  assert.equal(svc.get(JID), undefined);
});

test('set-groups refuses undeclared groups and pending accounts; remove announces removed', async () => {
  const { svc, changes, submit } = setup();
  await submit();
  assert.equal(((await svc.setGroups(JID, 'cli', ['soc'])) as { fail: string }).fail, 'not-acceptable');
  await svc.approve(JID, 'cli', ['soc']);
  assert.equal(((await svc.setGroups(JID, 'cli', ['nope'])) as { fail: string }).fail, 'bad-request');
  assert.ok('ok' in (await svc.setGroups(JID, 'cli', ['soc', 'partners'])));
  assert.ok('ok' in (await svc.remove(JID, 'cli')));
  assert.equal(changes.at(-1)?.status, 'removed');
  assert.equal(((await svc.remove(JID, 'cli')) as { fail: string }).fail, 'item-not-found');
});

test('challenges: single use, bound to the JID, expire after 300 s', () => {
  let t = 0;
  const book = new ChallengeBook(300_000, () => t);
  const c = book.issue('a@grid.test');
  assert.equal(book.consume(c, 'b@grid.test'), 'other-jid');
  assert.equal(book.consume(c, 'a@grid.test'), 'unknown', 'used up by the failed attempt');
  const d = book.issue('a@grid.test');
  t = 300_001;
  assert.equal(book.consume(d, 'a@grid.test'), 'expired');
  const e = book.issue('a@grid.test');
  assert.equal(book.consume(e, 'a@grid.test'), 'ok');
});

test('challenges: one JID holds at most 4 open; others are unaffected by its flood', () => {
  const book = new ChallengeBook();
  const other = book.issue('b@grid.test');
  const first = book.issue('a@grid.test');
  for (let i = 0; i < 1000; i++) book.issue('a@grid.test');
  assert.equal(book.size, 5);
  assert.equal(book.consume(first, 'a@grid.test'), 'unknown', 'the oldest of the flood went');
  assert.equal(book.consume(other, 'b@grid.test'), 'ok');
});

test('an account named like an Object.prototype member is just an unknown account', () => {
  const { svc } = setup();
  assert.equal(svc.get('__proto__'), undefined);
  assert.equal(svc.get('constructor'), undefined);
  assert.equal(svc.gate('toString')?.fail, 'registration-required');
});

test('two registrations of one JID at once are taken one after the other', async () => {
  const { svc, changes } = setup({ auto: true });
  const sub = () => svc.register(JID, { challenge: svc.challenge(JID), certificatePem: 'x', signature: 'y', groups: [] });
  const [a, b] = await Promise.all([sub(), sub()]);
  assert.ok('ok' in a && 'ok' in b);
  assert.deepEqual(changes.map((c) => c.status), ['approved'], 'one change, not two racing ones');
});
