// Durability helpers. A rename is only durable once the directory holding it is fsync'd, and
// a file's bytes only once the file is; both are needed for "acknowledged means stored".
import { open, rename, unlink, readdir, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `tmp`, fsyncs it and closes it (the caller renames it into place). */
export async function writeSynced(tmp: string, data: string | Uint8Array): Promise<void> {
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes all of `buf` at the handle's position (a short write continues where it stopped). */
export async function writeAll(fh: FileHandle, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
}

/** Atomically replaces `file` with `data`: temp file, fsync, rename, fsync the directory. */
export async function replaceFileDurably(file: string, data: string | Uint8Array, tmp: string): Promise<void> {
  await writeSynced(tmp, data);
  await rename(tmp, file);
  await fsyncDir(dirname(file));
}

export async function unlinkIfExists(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (e) {
    if (!isCode(e, 'ENOENT')) throw e;
  }
}

export function isCode(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return isCode(e, 'EPERM');
  }
}

/**
 * Removes `<base><marker><pid>` temp files left by crashed processes (their pid is dead).
 * Temp files of a live process are left alone: it may be mid-write.
 */
export async function removeStaleTemps(dir: string, base: string, marker: string): Promise<string[]> {
  const prefix = base + marker;
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (pidAlive(pid) && pid !== process.pid) continue;
    await unlinkIfExists(join(dir, name));
    removed.push(name);
  }
  return removed;
}
