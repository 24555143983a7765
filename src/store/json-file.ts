// A lowdb adapter that survives crashes. lowdb's own JSONFile renames without fsync (a crash
// can leave an empty file) and JSONFilePreset uses memory under NODE_ENV=test, hence this.
//
// Write: `file.tmp-<pid>` + fsync, hard-link the current file as `file.bak` (atomically, via
// a temp link), rename the temp over `file`, fsync the directory. `file` always exists once
// written: unlike renaming it to `.bak` first, there is no instant without it.
// Read: both missing → null (defaults); the file unparseable (or missing beside a `.bak`) →
// refuse with ControlStoreCorruptError naming `.bak` and how to restore it, changing nothing;
// or, with onCorrupt 'backup', the `.bak` copy, logged at error, after setting the bad file
// aside as `file.corrupt-<ms>` for inspection. Both bad → refuse.
import { readFile, rename, link, mkdir, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Adapter } from 'lowdb';
import type { Logger } from '../log.js';
import { fsyncDir, isCode, removeStaleTemps, unlinkIfExists, writeSynced } from './fsutil.js';
import { ControlStoreCorruptError, type ControlOnCorrupt, type ControlSource } from './types.js';
import { snapshotHash } from './journal.js';

/** The bytes of a snapshot of `data` (snapshot-text.ts builds the same bytes in slices). */
export function snapshotText(data: unknown): string {
  return JSON.stringify(data, null, 2) + '\n';
}

type Loaded = { ok: true; value: unknown; text: string } | { ok: false; reason: string; missing: boolean };

async function load(path: string): Promise<Loaded> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (isCode(e, 'ENOENT')) return { ok: false, reason: 'file is missing', missing: true };
    throw e;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) {
      return { ok: false, reason: 'top level is not a JSON object', missing: false };
    }
    return { ok: true, value, text };
  } catch (e) {
    const what = text.length === 0 ? 'file is empty' : `invalid JSON: ${(e as Error).message}`;
    return { ok: false, reason: what, missing: false };
  }
}

export class DurableJsonFile<T> implements Adapter<T> {
  readonly bak: string;
  private readonly tmp: string;
  /** Set by `read()`. */
  source: ControlSource = 'defaults';
  /** sha256 of the snapshot bytes last read or written (undefined: none yet); the journal names it. */
  hash: string | undefined;
  /** Size of that snapshot in bytes. */
  bytes = 0;

  constructor(readonly file: string, private readonly log?: Logger, private readonly onCorrupt: ControlOnCorrupt = 'refuse') {
    this.bak = `${file}.bak`;
    this.tmp = `${file}.tmp-${process.pid}`;
  }

  async read(): Promise<T | null> {
    await mkdir(dirname(this.file), { recursive: true });
    await removeStaleTemps(dirname(this.file), basename(this.file), '.tmp-');
    await removeStaleTemps(dirname(this.file), basename(this.bak), '.tmp-');
    const main = await load(this.file);
    if (main.ok) {
      this.source = 'file';
      this.loaded(main.text);
      return main.value as T;
    }
    const bak = await load(this.bak);
    if (!bak.ok) {
      if (main.missing && bak.missing) {
        this.source = 'defaults';
        return null;
      }
      throw new ControlStoreCorruptError(this.file, `${main.reason}; .bak: ${bak.reason}`);
    }
    if (this.onCorrupt === 'refuse') {
      const writtenAt = (await stat(this.bak)).mtime.toISOString();
      throw new ControlStoreCorruptError(this.file, main.reason, { path: this.bak, writtenAt });
    }
    if (!main.missing) await this.setAside();
    this.log?.error({ file: this.file, reason: main.reason, backup: this.bak }, 'control store unreadable; using its .bak copy (the last change before the damage is lost)');
    this.source = 'backup';
    this.loaded(bak.text);
    return bak.value as T;
  }

  private loaded(text: string): void {
    this.hash = snapshotHash(text);
    this.bytes = Buffer.byteLength(text);
  }

  /** The hash of `.bak` as it is now (undefined: missing or unreadable). */
  async bakHash(): Promise<string | undefined> {
    try {
      return snapshotHash(await readFile(this.bak));
    } catch (e) {
      if (isCode(e, 'ENOENT')) return undefined;
      throw e;
    }
  }

  /**
   * The state is serialised before the first await, so the snapshot is the state at the call
   * (control.ts relies on it: changes made while the write is in flight go to the journal).
   */
  async write(data: T): Promise<void> {
    await this.writeText(snapshotText(data));
  }

  /** Writes `text` (snapshotText of a state) as the snapshot. */
  async writeText(text: string): Promise<void> {
    await writeSynced(this.tmp, text);
    await this.keepBackup();
    await rename(this.tmp, this.file);
    await fsyncDir(dirname(this.file));
    this.loaded(text);
  }

  /** The bad file is evidence: move it aside rather than overwrite or delete it. */
  private async setAside(): Promise<void> {
    const aside = `${this.file}.corrupt-${Date.now()}`;
    await rename(this.file, aside);
    await fsyncDir(dirname(this.file));
    this.log?.warn({ file: this.file, movedTo: aside }, 'corrupt control store file set aside');
  }

  /** `.bak` := current file (the previous good state), replaced atomically. */
  private async keepBackup(): Promise<void> {
    const bakTmp = `${this.bak}.tmp-${process.pid}`;
    await unlinkIfExists(bakTmp);
    try {
      await link(this.file, bakTmp);
    } catch (e) {
      if (isCode(e, 'ENOENT')) return; // first write: nothing to keep
      // Filesystems without hard links: copy (and fsync) instead.
      await writeSynced(bakTmp, await readFile(this.file));
    }
    await rename(bakTmp, this.bak);
  }
}
