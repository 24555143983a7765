// `grid-controller accounts …` in a real process, against stopped state (a seeded
// accounts.json), against a held lock, and through a live admin socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAdminServer } from '../../src/admin/server.js';
import { accountOps } from '../../src/admin/ops.js';
import type { AccountsState } from '../../src/accounts/types.js';
import { silentLogger } from '../../src/log.js';
import { account, makeService, seededState } from './admin-fixtures.js';

// dist/test/unit/ → dist/src/cli/grid-controller.js: the real command, as administrators run it.
const ENTRY = fileURLToPath(new URL('../../src/cli/grid-controller.js', import.meta.url));

const POLICY = `admins: [admin@grid.test]
groups:
  soc: Security operations
  partners: External partners
# end
`;

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'grid-cli-'));
  mkdirSync(join(dir, 'policies'));
  mkdirSync(join(dir, 'var'));
  writeFileSync(join(dir, 'policies', 'main.yaml'), POLICY);
  writeFileSync(join(dir, 'config.yaml'), 'policies: policies/\ndata: var/\n');
  const state = seededState(
    account('node1@grid.test', 'pending', { deviceType: 'fire\u001b[31mwall' }),
    account('node2@grid.test', 'approved'),
  );
  writeFileSync(join(dir, 'var', 'accounts.json'), JSON.stringify(state));
  return {
    dir,
    config: join(dir, 'config.yaml'),
    stored: () => JSON.parse(readFileSync(join(dir, 'var', 'accounts.json'), 'utf8')) as AccountsState,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRID_'))), SUDO_USER: 'alice', USER: 'root' };
  return new Promise((resolve) => {
    execFile(process.execPath, [ENTRY, ...args], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('list: a readable table, a status filter, JSON lines', async () => {
  const t = setup();
  try {
    const r = await cli(['accounts', 'list', '--config', t.config]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^JID\s+STATUS\s+GROUPS\s+DEVICE\s+ISSUER O\s+NOT AFTER\s+DECIDED BY\s+REQUESTED\s+FINGERPRINT\s+LAST SEEN$/);
    // Stopped: last seen is not known (it is kept in the running controller's memory).
    assert.match(lines[1]!, /^node1@grid\.test\s+pending\s+-\s+fire\?\[31mwall\s+Grid Dev CA\s+2099-01-01T00:00:00\.000Z\s+registration\s+soc,undeclared\s+AA:BB\s+-$/);
    assert.match(lines[2]!, /^node2@grid\.test\s+approved\s+soc\s+siem/);
    const pending = await cli(['accounts', 'list', '--status', 'pending', '--json', '--config', t.config]);
    assert.equal(pending.code, 0);
    const rows = pending.stdout.trim().split('\n').map((l) => JSON.parse(l) as { jid: string; effective: string });
    assert.deepEqual(rows.map((a) => [a.jid, a.effective]), [['node1@grid.test', 'pending']]);
    const bad = await cli(['accounts', 'list', '--status', 'asleep', '--config', t.config]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'accounts.list: status must be one of pending, approved, denied, revoked, suspended\n');
  } finally {
    t.cleanup();
  }
});

test('approve, set-groups, revoke, deny, remove on stopped state', async () => {
  const t = setup();
  try {
    const a = await cli(['accounts', 'approve', 'node1@grid.test', '--config', t.config]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, 'approved node1@grid.test; groups: soc\nthe controller is not running: the node will see its new state at its next registration get\n');
    assert.match(a.stderr, /"audit":"account-change"/); // the audit trail is not lost offline
    let s = t.stored().accounts['node1@grid.test']!;
    assert.deepEqual([s.status, s.groups, s.decidedBy], ['approved', ['soc'], 'cli:alice'], 'decided by names the operator ($SUDO_USER first)');

    const g = await cli(['--config', t.config, 'accounts', 'set-groups', 'node1@grid.test', 'soc,partners']);
    assert.equal(g.code, 0, g.stderr);
    assert.deepEqual(t.stored().accounts['node1@grid.test']!.groups, ['partners', 'soc']);

    const r = await cli(['accounts', 'revoke', 'node2@grid.test', '--config', t.config]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^revoked node2@grid\.test\n/);
    assert.equal(t.stored().accounts['node2@grid.test']!.status, 'revoked');

    const d = await cli(['accounts', 'deny', 'node1@grid.test', '--config', t.config]);
    assert.equal(d.code, 0);
    s = t.stored().accounts['node1@grid.test']!;
    assert.deepEqual([s.status, s.groups], ['denied', []]);

    const x = await cli(['accounts', 'remove', 'NODE1@grid.test', '--config', t.config]);
    assert.equal(x.code, 0);
    assert.match(x.stdout, /^removed node1@grid\.test\n/);
    assert.deepEqual(Object.keys(t.stored().accounts), ['node2@grid.test']);
  } finally {
    t.cleanup();
  }
});

test('errors: one clear line, exit 1, state untouched', async () => {
  const t = setup();
  try {
    const before = readFileSync(join(t.dir, 'var', 'accounts.json'), 'utf8');
    const cases: [string[], string][] = [
      [['accounts', 'deny', 'x@grid.test'], 'no account x@grid.test\n'],
      [['accounts', 'approve', 'node1@grid.test', '--groups', 'soc,root'], 'groups not declared in the policy: root\n'],
      [['accounts', 'set-groups', 'node1@grid.test', 'soc'], 'the account is pending: approve it (with groups) instead\n'],
      [['accounts', 'approve', 'not-a-jid'], 'accounts.approve: jid must be a JID like node1@grid.test\n'],
    ];
    for (const [args, line] of cases) {
      const r = await cli([...args, '--config', t.config]);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stderr, line);
      assert.equal(r.stdout, '');
    }
    assert.equal(readFileSync(join(t.dir, 'var', 'accounts.json'), 'utf8'), before);
    writeFileSync(join(t.dir, 'policies', 'main.yaml'), 'groups: [oops');
    const broken = await cli(['accounts', 'approve', 'node1@grid.test', '--config', t.config]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /^policy does not load, so its groups are unknown: .*main\.yaml/);
    const noConfig = await cli(['accounts', 'list', '--config', join(t.dir, 'missing.yaml')]);
    assert.equal(noConfig.code, 1);
    assert.match(noConfig.stderr, /^config --config: cannot read/);
  } finally {
    t.cleanup();
  }
});

test('refuses to write while a live process holds the lock and no socket answers', async () => {
  const t = setup();
  try {
    writeFileSync(join(t.dir, 'var', 'controller.lock'), `${process.pid}\n`);
    const before = readFileSync(join(t.dir, 'var', 'accounts.json'), 'utf8');
    const r = await cli(['accounts', 'approve', 'node1@grid.test', '--config', t.config]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^a controller \\(pid ${process.pid}\\) holds .*controller\\.lock but does not answer on .*admin\\.sock .*refusing to write`));
    assert.equal(readFileSync(join(t.dir, 'var', 'accounts.json'), 'utf8'), before);
    assert.equal(readFileSync(join(t.dir, 'var', 'controller.lock'), 'utf8'), `${process.pid}\n`);
  } finally {
    t.cleanup();
  }
});

test('while the controller runs, changes go through its admin socket', async () => {
  const t = setup();
  // The "running controller": lock held by this process, state in its memory, socket at the default path.
  writeFileSync(join(t.dir, 'var', 'controller.lock'), `${process.pid}\n`);
  const live = makeService();
  const server = await startAdminServer({ socketPath: join(t.dir, 'var', 'admin.sock'), ops: accountOps(live.service, 'cli'), log: silentLogger() });
  try {
    const r = await cli(['accounts', 'approve', 'node1@grid.test', '--groups', 'partners', '--config', t.config]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'approved node1@grid.test; groups: partners\n');
    assert.deepEqual(live.changes.map((c) => [c.jid, c.status, c.groups]), [['node1@grid.test', 'approved', ['partners']]]);
    assert.equal(t.stored().accounts['node1@grid.test']!.status, 'pending'); // the file is the controller's to write
    const l = await cli(['accounts', 'list', '--json', '--config', t.config]);
    assert.equal(l.code, 0);
    assert.match(l.stdout, /"jid":"node1@grid.test","status":"approved"/);
  } finally {
    await server.close();
    t.cleanup();
  }
});

test('show: every stored field of one account, offline too', async () => {
  const t = setup();
  try {
    const r = await cli(['accounts', 'show', 'NODE1@grid.test', '--config', t.config]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split('\n').map((l) => l.split(/\s{2,}/)), [
      ['jid', 'node1@grid.test'], ['status', 'pending'], ['groups granted', 'none'], ['groups requested', 'soc, undeclared'],
      ['device type', 'fire?[31mwall'], ['description', '-'], ['cert subject', 'CN=node1@grid.test, OU=soc'], ['cert issuer', 'O=Grid Dev CA'],
      ['cert serial', '1F'], ['cert fingerprint', 'SHA-256 AA:BB'], ['cert key type', 'rsa'],
      ['cert not before', '2025-01-01T00:00:00.000Z'], ['cert not after', '2099-01-01T00:00:00.000Z'],
      ['decided by', 'registration'], ['decided at', '2025-01-01T00:00:00.000Z'], ['registered', '2025-01-01T00:00:00.000Z'], ['updated', '2025-01-01T00:00:00.000Z'],
      ['online', 'unknown (the controller is not running)'], ['last seen', 'unknown (the controller is not running)'],
    ]);
    const missing = await cli(['accounts', 'show', 'x@grid.test', '--config', t.config]);
    assert.deepEqual([missing.code, missing.stderr], [1, 'no account x@grid.test\n']);
  } finally {
    t.cleanup();
  }
});

test('status with no controller: exit 1, one line', async () => {
  const t = setup();
  try {
    const r = await cli(['status', '--config', t.config]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^grid-controller is not running \(.*admin\.sock.*\)\n$/);
  } finally {
    t.cleanup();
  }
});

test('--version prints the package version', async () => {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version: string };
  const r = await cli(['--version']);
  assert.deepEqual([r.code, r.stdout], [0, `${pkg.version}\n`]);
});

test('every subcommand has --help', async () => {
  for (const sub of ['list', 'show', 'approve', 'deny', 'revoke', 'set-groups', 'remove']) {
    const r = await cli(['accounts', sub, '--help']);
    assert.equal(r.code, 0, sub);
    assert.match(r.stdout, new RegExp(`Usage: grid-controller accounts ${sub}`));
    assert.match(r.stdout, /--config <file>/);
  }
});

test('no data folder yet: list is empty and changes find no account', async () => {
  const t = setup();
  try {
    rmSync(join(t.dir, 'var'), { recursive: true });
    const l = await cli(['accounts', 'list', '--config', t.config]);
    // issue 11: an empty list says which data folder it read (it used to say only "no accounts")
    assert.deepEqual([l.code, l.stdout], [0, `no accounts in data folder ${join(t.dir, 'var')} (another controller's: --config FILE)\n`]);
    const a = await cli(['accounts', 'approve', 'node1@grid.test', '--config', t.config]);
    assert.deepEqual([a.code, a.stderr], [1, 'no account node1@grid.test\n']);
  } finally {
    t.cleanup();
  }
});

test('token: the token alone on one line of stdout, stored hashed, replaced by a new one, ended by --revoke (PROTOCOL §13)', async () => {
  const t = setup();
  try {
    const r = await cli(['accounts', 'token', 'node2@grid.test', '--config', t.config]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[A-Za-z0-9_-]{43}\n$/, 'one line: the token');
    const token = r.stdout.trim();
    const stored = t.stored().accounts['node2@grid.test']!.token!;
    assert.equal(stored.sha256, (await import('node:crypto')).createHash('sha256').update(token).digest('hex'));
    assert.ok(!readFileSync(join(t.dir, 'var', 'accounts.json'), 'utf8').includes(token), 'never stored in clear');
    const again = await cli(['accounts', 'token', 'node2@grid.test', '--config', t.config]);
    assert.notEqual(again.stdout.trim(), token);
    assert.notEqual(t.stored().accounts['node2@grid.test']!.token!.sha256, stored.sha256, 'a new one replaces the old');
    const show = await cli(['accounts', 'show', 'node2@grid.test', '--json', '--config', t.config]);
    assert.equal(JSON.parse(show.stdout).token, undefined, 'listings never carry the hash');
    const rev = await cli(['accounts', 'token', 'node2@grid.test', '--revoke', '--config', t.config]);
    assert.equal(rev.code, 0, rev.stderr);
    assert.match(rev.stdout, /^token of node2@grid\.test revoked\n/);
    assert.equal(t.stored().accounts['node2@grid.test']!.token, undefined);
    const none = await cli(['accounts', 'token', 'nobody@grid.test', '--config', t.config]);
    assert.equal(none.code, 1);
  } finally {
    t.cleanup();
  }
});
