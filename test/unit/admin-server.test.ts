// The admin socket over a real Unix socket in a temp folder: round trips, errors, malformed
// input, permissions, stale sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, chmodSync, statSync, writeFileSync, existsSync, linkSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { startAdminServer } from '../../src/admin/server.js';
import { adminRequest, controllerRunning } from '../../src/admin/client.js';
import { accountOps } from '../../src/admin/ops.js';
import { MAX_REQUEST_BYTES, type AdminOps } from '../../src/admin/types.js';
import { silentLogger } from '../../src/log.js';
import { makeService } from './admin-fixtures.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'grid-admin-'));
}

async function withServer(fn: (path: string, ctx: ReturnType<typeof makeService>) => Promise<void>, extra: Partial<AdminOps> = {}) {
  const dir = tmp();
  const path = join(dir, 'run', 'admin.sock');
  const ctx = makeService();
  const server = await startAdminServer({ socketPath: path, ops: { ...accountOps(ctx.service, 'cli'), ...extra }, log: silentLogger() });
  try {
    await fn(path, ctx);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes raw bytes and collects answer lines until `n` arrived or the server hung up. */
async function raw(path: string, data: string, n: number): Promise<{ lines: unknown[]; ended: boolean }> {
  const s = createConnection(path);
  await once(s, 'connect');
  s.write(data);
  let buf = '';
  const lines: unknown[] = [];
  let ended = false;
  await new Promise<void>((resolve) => {
    s.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        lines.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
      if (lines.length >= n) resolve();
    });
    s.on('end', () => {
      ended = true;
      resolve();
    });
  });
  s.destroy();
  return { lines, ended };
}

test('the socket is 0600 in a 0700 folder it created, and goes away on close', async () => {
  const dir = tmp();
  const path = join(dir, 'run', 'admin.sock');
  const { service } = makeService();
  const server = await startAdminServer({ socketPath: path, ops: accountOps(service, 'cli'), log: silentLogger() });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'run')).mode & 0o777, 0o700);
  assert.equal(await controllerRunning(path), true);
  await server.close();
  assert.equal(existsSync(path), false);
  assert.equal(await controllerRunning(path), false);
  rmSync(dir, { recursive: true, force: true });
});

test('list and approve round trip; the change goes through AccountService', async () => {
  await withServer(async (path, { store, changes }) => {
    const list = await adminRequest(path, 'accounts.list', {});
    assert.ok(list.ok);
    assert.deepEqual(list.result.map((a) => [a.jid, a.effective]), [['node1@grid.test', 'pending'], ['node2@grid.test', 'approved']]);
    const pending = await adminRequest(path, 'accounts.list', { status: 'pending' });
    assert.ok(pending.ok);
    assert.deepEqual(pending.result.map((a) => a.jid), ['node1@grid.test']);
    const r = await adminRequest(path, 'accounts.approve', { jid: 'node1@grid.test', groups: ['partners'] });
    assert.ok(r.ok);
    assert.equal(r.result.status, 'approved');
    assert.deepEqual(store.data.accounts['node1@grid.test']!.groups, ['partners']);
    assert.deepEqual(changes.map((c) => [c.jid, c.status, c.by]), [['node1@grid.test', 'approved', 'cli']]);
  });
});

test('expected failures come back as error answers', async () => {
  await withServer(async (path) => {
    assert.deepEqual(await adminRequest(path, 'accounts.revoke', { jid: 'ghost@grid.test' }), { ok: false, error: { code: 'item-not-found', text: 'no account ghost@grid.test' } });
    const undeclared = await adminRequest(path, 'accounts.approve', { jid: 'node1@grid.test', groups: ['root'] });
    assert.deepEqual(undeclared, { ok: false, error: { code: 'bad-request', text: 'groups not declared in the policy: root' } });
    const noHook = await adminRequest(path, 'topics.list', {});
    assert.equal(!noHook.ok && noHook.error.code, 'unavailable');
    const stats = await adminRequest(path, 'stats', {});
    assert.deepEqual(stats, { ok: true, result: { uptime: 1 } });
    const boom = await adminRequest(path, 'policy.reload', {});
    assert.deepEqual(boom, { ok: false, error: { code: 'internal', text: 'policy.reload failed inside the controller; see its log' } });
  }, {
    stats: async () => ({ ok: true, value: { uptime: 1 } }),
    'policy.reload': async () => {
      throw new Error('boom');
    },
  });
});

test('malformed lines are answered in order and never stop the server', async () => {
  await withServer(async (path) => {
    const input = ['not json', '[1,2]', '{"op":"stats"}', '{"id":{},"op":"stats"}', '', '{"id":7,"op":"nope"}', '{"id":"x","op":"accounts.list","args":{"status":1}}', '{"id":8,"op":"accounts.list"}'].join('\n') + '\n';
    const { lines } = await raw(path, input, 7);
    const codes = lines.map((l) => {
      const a = l as { id: unknown; ok: boolean; error?: { code: string } };
      return [a.id, a.ok ? 'ok' : a.error!.code];
    });
    assert.deepEqual(codes, [[null, 'bad-request'], [null, 'bad-request'], [null, 'bad-request'], [null, 'bad-request'], [7, 'unknown-op'], ['x', 'bad-request'], [8, 'ok']]);
    assert.equal((await adminRequest(path, 'accounts.list', {})).ok, true);
  });
});

test('an over-long line is refused and the connection closed; others still work', async () => {
  await withServer(async (path) => {
    // Ask for two answers: only one comes, then the server hangs up.
    const { lines, ended } = await raw(path, 'x'.repeat(MAX_REQUEST_BYTES + 10), 2);
    assert.deepEqual(lines, [{ id: null, ok: false, error: { code: 'bad-request', text: `request line longer than ${MAX_REQUEST_BYTES} bytes` } }]);
    const after = await raw(path, `{"id":1,"op":"accounts.list","args":{"status":"approved"}}\n`, 1);
    assert.equal((after.lines[0] as { ok: boolean }).ok, true);
    assert.equal(ended, true);
  });
});

test('a stale socket file is replaced; a live one or a regular file is refused', async () => {
  const dir = tmp();
  const path = join(dir, 'admin.sock');
  chmodSync(dir, 0o700);
  // A socket file nobody listens on: hard-link a live one, then close the original.
  const other = createServer();
  await new Promise<void>((r) => other.listen(join(dir, 'orig.sock'), r));
  linkSync(join(dir, 'orig.sock'), path);
  await new Promise<void>((r) => other.close(() => r()));
  assert.ok(statSync(path).isSocket());
  const { service } = makeService();
  const ops = accountOps(service, 'cli');
  const s1 = await startAdminServer({ socketPath: path, ops, log: silentLogger() });
  await assert.rejects(startAdminServer({ socketPath: path, ops, log: silentLogger() }), /another process answers on the admin socket/);
  await s1.close();
  writeFileSync(path, 'precious');
  await assert.rejects(startAdminServer({ socketPath: path, ops, log: silentLogger() }), /exists and is not a socket/);
  rmSync(dir, { recursive: true, force: true });
});

test('a folder others may write to is refused', async () => {
  const dir = tmp();
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o777);
  const { service } = makeService();
  await assert.rejects(startAdminServer({ socketPath: join(shared, 'admin.sock'), ops: accountOps(service, 'cli'), log: silentLogger() }), /writable by other users/);
  rmSync(dir, { recursive: true, force: true });
});

test('the client reports an absent controller and a timeout as error answers', async () => {
  const dir = tmp();
  const r = await adminRequest(join(dir, 'none.sock'), 'accounts.list', {});
  assert.deepEqual(r, { ok: false, error: { code: 'unavailable', text: `no controller answers on ${join(dir, 'none.sock')}` } });
  const held: import('node:net').Socket[] = [];
  const mute = createServer((c) => held.push(c));
  const path = join(dir, 'mute.sock');
  await new Promise<void>((res) => mute.listen(path, res));
  const t = await adminRequest(path, 'accounts.list', {}, 100);
  assert.equal(!t.ok && t.error.code, 'timeout');
  for (const c of held) c.destroy();
  await new Promise<void>((res) => mute.close(() => res()));
  rmSync(dir, { recursive: true, force: true });
});
