// One controller per data directory. `controller.lock` holds the owner's pid; CLI tools use
// it to tell whether a controller is running. The file is created with its content already in
// it (temp file + link(2), which like O_EXCL fails if the name exists), so no one ever sees an
// empty lock. A lock whose pid is dead, or whose content is not a pid, is stale and taken over.
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { isCode, pidAlive } from './fsutil.js';
import type { LockResult } from './types.js';

export const LOCK_FILE = 'controller.lock';

function readPid(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return /^[1-9][0-9]*$/.test(text) ? Number(text) : NaN;
  } catch (e) {
    if (isCode(e, 'ENOENT')) return undefined;
    throw e;
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if (!isCode(e, 'ENOENT')) throw e;
  }
}

/** Exclusive create with content: true if we now hold `lock`. */
function tryCreate(lock: string): boolean {
  const tmp = `${lock}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeFileSync(fd, `${process.pid}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, lock);
    return true;
  } catch (e) {
    if (isCode(e, 'EEXIST')) return false;
    throw e;
  } finally {
    unlinkQuiet(tmp);
  }
}

/**
 * Removes a stale lock whose content was `stalePid`. Renaming first makes the removal atomic:
 * if another process replaced the lock in the meantime, we put its lock back untouched.
 */
function removeStale(lock: string, stalePid: number): void {
  const aside = `${lock}.stale-${process.pid}`;
  try {
    renameSync(lock, aside);
  } catch (e) {
    if (isCode(e, 'ENOENT')) return;
    throw e;
  }
  const pid = readPid(aside);
  if (pid !== undefined && pid !== stalePid && !Number.isNaN(pid) && pidAlive(pid)) {
    try {
      linkSync(aside, lock);
    } catch (e) {
      if (!isCode(e, 'EEXIST')) throw e;
    }
  }
  unlinkQuiet(aside);
}

export function acquireLock(dataDir: string): LockResult {
  const lock = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(lock)) return held(lock);
    const pid = readPid(lock);
    if (pid === undefined) continue; // released meanwhile: try again
    if (!Number.isNaN(pid) && pidAlive(pid)) return { heldBy: pid };
    removeStale(lock, pid);
  }
  const pid = readPid(lock);
  return { heldBy: pid !== undefined && !Number.isNaN(pid) ? pid : 0 };
}

function held(lock: string): { release(): void } {
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      // Only remove it if it is still ours (a stale-lock takeover may have replaced it).
      if (readPid(lock) === process.pid) unlinkQuiet(lock);
    },
  };
}
