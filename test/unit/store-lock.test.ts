import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, readdir } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, LOCK_FILE } from '../../src/store/lock.js';
import { startChild } from '../helpers/store-spawn.js';

/** The pid of a process that has exited (so is dead, barring pid reuse within the test). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('controller.lock', () => {
  let dir: string;
  beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), 'lock-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  test('acquire writes our pid; a second acquire sees it held; release frees it', async () => {
    const a = acquireLock(dir);
    assert.ok('release' in a);
    assert.equal((await readFile(join(dir, LOCK_FILE), 'utf8')).trim(), String(process.pid));
    assert.deepEqual(acquireLock(dir), { heldBy: process.pid });
    a.release();
    assert.deepEqual(await readdir(dir), [], 'no lock or temp file left');
    const b = acquireLock(dir);
    assert.ok('release' in b);
    b.release();
  });

  test('a lock held by another live process is reported with its pid, and taken once it dies', async () => {
    const run = startChild('lock', dir);
    const [line] = await run.lines(1);
    const childPid = run.child.pid!;
    assert.deepEqual(JSON.parse(line!), { locked: childPid });
    assert.deepEqual(acquireLock(dir), { heldBy: childPid });
    run.child.kill('SIGKILL');
    await run.closed;
    const mine = acquireLock(dir);
    assert.ok('release' in mine, 'the dead child left a stale lock that we take over');
    mine.release();
  });

  const stale: [string, () => string][] = [
    ['a dead pid', () => `${deadPid()}\n`],
    ['an empty file', () => ''],
    ['garbage', () => 'not-a-pid'],
  ];
  for (const [what, content] of stale) {
    test(`a lock file holding ${what} is stale and taken over`, async () => {
      await writeFile(join(dir, LOCK_FILE), content());
      const r = acquireLock(dir);
      assert.ok('release' in r);
      assert.equal((await readFile(join(dir, LOCK_FILE), 'utf8')).trim(), String(process.pid));
      r.release();
    });
  }

  test('release leaves alone a lock that is no longer ours', async () => {
    const r = acquireLock(dir);
    assert.ok('release' in r);
    await writeFile(join(dir, LOCK_FILE), '1\n'); // pid 1 (init) is always alive
    r.release();
    assert.equal((await readFile(join(dir, LOCK_FILE), 'utf8')).trim(), '1');
    assert.deepEqual(acquireLock(dir), { heldBy: 1 });
  });
});
