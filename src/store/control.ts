// Control-plane state: a lowdb snapshot (`<file>`, durable adapter json-file.ts) plus a journal
// of the changes made since it was written (`<file>.journal`, journal.ts). An update costs what
// it changed: the mutator runs on a change-tracking proxy of the live state (change-tracker.ts,
// no copy of the state), and its change — the changed locations with their new values — is one
// framed, checksummed record appended to the journal. Writes are serialized and coalesced:
// updates arriving while a write is in flight share the single append + fdatasync that follows
// it (group commit), so a burst of N updates costs at most two writes, and each update
// resolves once its record is on disk. An update is applied in memory (and visible in `data`)
// before update() returns: the promise is its durability only.
//
// Failing closed: when a write fails (an append, its fdatasync, a fold), the store refuses every
// change from then on, until the process restarts: the updates of that write and those queued
// behind it reject (they were applied in memory, so memory may now hold changes the disk may
// lack; none was acknowledged), later updates reject without being applied, close() writes
// nothing, and the failure is logged at error once. On disk is every acknowledged change, in
// order, and perhaps a prefix of the failed write's records (replayed, or cut as a torn tail, at
// the next open). Retrying instead would acknowledge later changes on top of a write whose fate
// is unknown (after a failed fdatasync, Linux may drop the dirty pages and report the next one
// clean).
//
// Folding: when the journal outgrows the snapshot (and at least `foldBytes`), at close, and at
// open after a replay, the state is written as a new snapshot (tmp + fsync + `.bak` link +
// rename, as always) and a fresh journal naming that snapshot's sha256 replaces the old one
// (tmp + fsync + rename). Every fold writes the snapshot once per at least its own size of
// journal, so the cost per change stays proportional to the change.
//
// Opening: the snapshot is read as before (refusing or falling back to `.bak` per
// `store.control_on_corrupt`); then the journal: its header must name that snapshot —
//   the same hash                 → replay its records;
//   the hash of `.bak`, or no record → a fold that crashed after its rename: the records are
//                                   in the snapshot already;
//   the snapshot came from `.bak`  → the records belong to the damaged file: set aside, logged;
//   anything else                  → refused (a snapshot replaced by hand under a journal).
// A torn tail (an unacknowledged write) is cut and logged; damage (a bad frame followed by more
// frames) refuses, or with `backup` keeps the records before it, set aside and logged at error.
import { Low } from 'lowdb';
import { open, readFile, rename, copyFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../log.js';
import { DurableJsonFile } from './json-file.js';
import { fsyncDir, isCode, removeStaleTemps, writeAll, writeSynced } from './fsutil.js';
import { ChangeTracker, applyChanges } from './change-tracker.js';
import { changeFrame, headerFrame, JOURNAL_SUFFIX, scanJournal, snapshotHash, type JournalScan } from './journal.js';
import { ControlStoreCorruptError, type ControlOnCorrupt, type ControlSource, type ControlStore, type ControlStoreOptions } from './types.js';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Runs `write` one at a time. `request()` returns the promise of the next write that has not
 * started yet, creating it if needed: everything changed before that write starts is in it.
 */
export class CoalescingWriter {
  private next: Deferred | null = null;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly write: () => Promise<void>) {}

  request(): Promise<void> {
    if (!this.next) this.next = deferred();
    const p = this.next.promise;
    if (!this.running) this.loop = this.run();
    return p;
  }

  /** Resolves once no write is pending or running. */
  async idle(): Promise<void> {
    while (this.running) await this.loop;
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.next) {
      const d = this.next;
      this.next = null;
      try {
        await this.write();
        d.resolve();
      } catch (e) {
        // The change stays in memory; the next update's write covers it again.
        d.reject(e);
      }
    }
    this.running = false;
  }
}

/** Fold when the journal exceeds max(this, the snapshot's size). */
export const DEFAULT_FOLD_BYTES = 1024 * 1024;

/** A write of the control store failed: it takes no more changes until the controller restarts. */
export class ControlStoreFailedError extends Error {
  constructor(readonly file: string, override readonly cause: unknown) {
    super(`control store ${file}: a write failed (${(cause as Error)?.message ?? String(cause)}); it refuses every change until the controller is restarted ` +
      '(every acknowledged change is on disk; this change was not acknowledged). Fix the cause (disk full? I/O error?) and restart');
    this.name = 'ControlStoreFailedError';
  }
}

/** A journal that cannot be used as it is; the message says what to do. */
export class ControlJournalCorruptError extends ControlStoreCorruptError {
  constructor(file: string, readonly journal: string, reason: string, advice: string) {
    super(file, reason);
    this.message = `control store journal ${journal} (changes not yet in ${file}) ${reason}; nothing was changed. ${advice}`;
    this.name = 'ControlJournalCorruptError';
  }
}

export interface ControlStoreInternals {
  /** Bytes in the journal now (header included). */
  journalBytes(): number;
  /** Records appended since the last fold. */
  journalRecords(): number;
  folds(): number;
}

class JournaledControlStore<T> implements ControlStore<T>, ControlStoreInternals {
  private closed = false;
  /** Set by the first failed write: every later change is refused (fail closed). */
  private failed: ControlStoreFailedError | undefined;
  private readonly writer: CoalescingWriter;
  private readonly journal: string;
  private fh: FileHandle | undefined;
  private pending: Buffer[] = [];
  private bytes = 0;
  private records = 0;
  private foldCount = 0;
  /** Set when close wants a fold. */
  private mustFold = false;
  private readonly foldBytes: number;
  private readonly log: Logger | undefined;
  private readonly onCorrupt: ControlOnCorrupt;

  constructor(private readonly low: Low<T>, private readonly adapter: DurableJsonFile<T>, opts: ControlStoreOptions & { foldBytes?: number }) {
    this.journal = adapter.file + JOURNAL_SUFFIX;
    this.foldBytes = opts.foldBytes ?? DEFAULT_FOLD_BYTES;
    this.log = opts.log;
    this.onCorrupt = opts.onCorrupt ?? 'refuse';
    this.writer = new CoalescingWriter(async () => {
      const frames = this.pending;
      this.pending = [];
      // Queued behind a failed write: applied in memory, never to be acknowledged.
      if (this.failed) throw this.failed;
      const size = frames.reduce((n, f) => n + f.length, 0);
      try {
        if (this.mustFold || this.bytes + size > Math.max(this.foldBytes, this.adapter.bytes)) {
          // The snapshot taken now holds these frames' changes (and all before them).
          await this.fold();
        } else if (frames.length) {
          await writeAll(this.fh!, frames.length === 1 ? frames[0]! : Buffer.concat(frames, size));
          await this.fh!.datasync();
          this.bytes += size;
          this.records += frames.length;
        }
      } catch (e) {
        this.failed = new ControlStoreFailedError(this.adapter.file, e);
        this.log?.error({ err: e, file: this.adapter.file, journal: this.journal, changes: frames.length }, 'control store write failed: refusing every change until restart (fail closed)');
        throw this.failed;
      }
      opts.onWrite?.();
    });
  }

  get data(): T {
    return this.low.data;
  }

  get source(): ControlSource {
    return this.adapter.source;
  }

  journalBytes(): number {
    return this.bytes;
  }

  journalRecords(): number {
    return this.records;
  }

  folds(): number {
    return this.foldCount;
  }

  update(mutator: (d: T) => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error('control store is closed'));
    if (this.failed) return Promise.reject(this.failed);
    const tracker = new ChangeTracker(this.low.data as T & object);
    let json: string[];
    try {
      mutator(tracker.root);
      json = tracker.finish().json;
    } catch (e) {
      tracker.undo();
      return Promise.reject(e);
    }
    if (json.length) this.pending.push(changeFrame(json));
    return this.writer.request();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.idle();
    if (!this.failed && (this.records > 0 || this.mustFold)) {
      this.mustFold = true;
      await this.writer.request();
    }
    await this.fh?.close();
    this.fh = undefined;
  }

  /** Snapshot the state (lowdb, durable adapter), then start a journal naming it. */
  private async fold(): Promise<void> {
    await this.low.write();
    await this.startJournal();
    this.mustFold = false;
    this.foldCount++;
  }

  private async startJournal(): Promise<void> {
    const tmp = `${this.journal}.tmp-${process.pid}`;
    const head = headerFrame(this.adapter.hash ?? null);
    await writeSynced(tmp, head);
    await rename(tmp, this.journal);
    await fsyncDir(dirname(this.journal));
    await this.fh?.close();
    this.fh = await open(this.journal, 'a');
    this.bytes = head.length;
    this.records = 0;
  }

  /** Reads the journal, replays what belongs to the snapshot, and leaves a journal to append to. */
  async openJournal(): Promise<void> {
    await removeStaleTemps(dirname(this.journal), basename(this.journal), '.tmp-');
    let buf: Buffer | undefined;
    try {
      buf = await readFile(this.journal);
    } catch (e) {
      if (!isCode(e, 'ENOENT')) throw e;
    }
    if (!buf) {
      // No journal: a new store (write the first snapshot, so `.bak` always has a predecessor
      // to hold) or a snapshot from an older version.
      if (this.adapter.source === 'defaults') await this.fold();
      else await this.startJournal();
      return;
    }
    const scan = scanJournal(buf, this.journal);
    let records = scan.records;
    if (scan.damage) records = await this.damaged(scan);
    const base = scan.header?.h ?? null;
    let replay = false;
    if (records.length === 0) {
      // Nothing to apply, whatever the header says.
    } else if (scan.header && base === (this.adapter.hash ?? null)) {
      replay = true;
    } else if (this.adapter.source === 'file' && base !== null && base === (await this.adapter.bakHash())) {
      this.log?.warn({ file: this.adapter.file, journal: this.journal, records: records.length }, 'control store journal already folded into the snapshot (a fold was interrupted); starting a new journal');
    } else if (this.adapter.source === 'backup') {
      const aside = await this.setAside();
      this.log?.error({ file: this.adapter.file, journal: this.journal, records: records.length, movedTo: aside }, 'control store journal belongs to the damaged file; its changes are lost with it');
    } else {
      const advice = `To keep ${this.adapter.file} as it is and drop those changes: mv ${this.journal} ${this.journal}.dropped`;
      if (this.onCorrupt === 'refuse') {
        throw new ControlJournalCorruptError(this.adapter.file, this.journal, `holds ${records.length} changes made to another version of that file (was it replaced or edited while the controller was stopped?)`, advice);
      }
      const aside = await this.setAside();
      this.log?.error({ file: this.adapter.file, journal: this.journal, records: records.length, movedTo: aside }, 'control store journal belongs to another version of the snapshot; its changes are dropped');
    }
    if (replay) {
      for (let i = 0; i < records.length; i++) {
        try {
          applyChanges(this.low.data as object, records[i]!);
        } catch (e) {
          throw new ControlJournalCorruptError(this.adapter.file, this.journal, `record ${i + 1} does not apply to the snapshot (${(e as Error).message})`,
            `Restore ${this.adapter.file} and its journal from a backup, or move the journal away to start from the snapshot alone`);
        }
      }
      this.log?.info({ file: this.adapter.file, records: records.length }, 'control store journal replayed');
    }
    if (scan.torn) {
      const aside = `${this.journal}.torn-${Date.now()}`;
      await writeSynced(aside, buf.subarray(scan.torn.off));
      this.log?.warn({ journal: this.journal, offset: scan.torn.off, bytes: scan.torn.bytes, reason: scan.torn.reason, savedTo: aside }, 'control store journal had a torn tail (an unacknowledged write); cut it');
    }
    if (this.adapter.source === 'defaults' || records.length > 0 || scan.damage) {
      await this.fold();
    } else if (!scan.torn && scan.header && base === (this.adapter.hash ?? null)) {
      this.fh = await open(this.journal, 'a');
      this.bytes = scan.size;
    } else {
      await this.startJournal(); // an empty journal of another snapshot, or a torn one: replace it
    }
  }

  /** Damage with bytes after it: refuse, or keep what came before it. */
  private async damaged(scan: JournalScan): Promise<JournalScan['records']> {
    const d = scan.damage!;
    if (this.onCorrupt === 'refuse') {
      throw new ControlJournalCorruptError(this.adapter.file, this.journal, `is damaged at byte ${d.off} (${d.reason}) with ${d.bytes} bytes of changes after it`,
        `To start from the ${scan.records.length} changes before the damage (the later ones are lost), set store.control_on_corrupt: backup; or restore the data folder from a backup`);
    }
    const aside = await this.setAside();
    this.log?.error({ file: this.adapter.file, journal: this.journal, offset: d.off, bytes: d.bytes, reason: d.reason, kept: scan.records.length, savedTo: aside }, 'control store journal damaged: the changes after the damage are lost');
    return scan.records;
  }

  /** The journal is evidence: keep a copy beside it before it is replaced. */
  private async setAside(): Promise<string> {
    const aside = `${this.journal}.corrupt-${Date.now()}`;
    await copyFile(this.journal, aside);
    return aside;
  }
}

export type OpenControlOptions = ControlStoreOptions & {
  /** Fold when the journal exceeds max(this, the snapshot's size) (default DEFAULT_FOLD_BYTES). */
  foldBytes?: number;
};

export async function openControlStore<T>(
  file: string,
  defaults: T,
  opts: OpenControlOptions = {},
): Promise<ControlStore<T>> {
  const adapter = new DurableJsonFile<T>(file, opts.log, opts.onCorrupt);
  const low = new Low<T>(adapter, structuredClone(defaults));
  try {
    await low.read();
  } catch (e) {
    if (e instanceof ControlStoreCorruptError && e.backup) await explainJournal(e, file);
    throw e;
  }
  const store = new JournaledControlStore(low, adapter, opts);
  await store.openJournal();
  return store;
}

/** A refused snapshot's journal holds changes made to the damaged file: say what restoring `.bak` means for them. */
async function explainJournal(e: ControlStoreCorruptError, file: string): Promise<void> {
  const journal = file + JOURNAL_SUFFIX;
  let records = 0;
  try {
    records = scanJournal(await readFile(journal), journal).records.length;
  } catch {
    return;
  }
  if (records > 0) {
    e.message += `; its journal ${journal} holds ${records} later changes made to the damaged file, lost with it: after restoring, move it away too: mv ${journal} ${journal}.dropped`;
  }
}

/**
 * The state as a process opening `file` now would find it, read without writing anything
 * (tests, and tools that must not touch a live store): the snapshot plus the journal records
 * that belong to it. Throws when the journal does not belong to the snapshot or is damaged.
 */
export async function readControlState<T>(file: string, defaults: T): Promise<T> {
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (!isCode(e, 'ENOENT')) throw e;
  }
  const state = (text === undefined ? structuredClone(defaults) : JSON.parse(text)) as T;
  let buf: Buffer;
  try {
    buf = await readFile(file + JOURNAL_SUFFIX);
  } catch (e) {
    if (isCode(e, 'ENOENT')) return state;
    throw e;
  }
  const scan = scanJournal(buf, file + JOURNAL_SUFFIX);
  if (scan.damage) throw new Error(`${file}${JOURNAL_SUFFIX}: damaged at byte ${scan.damage.off}`);
  if (scan.records.length === 0) return state;
  if (scan.header?.h !== (text === undefined ? null : snapshotHash(text))) {
    // A fold interrupted after its snapshot's rename: the records are in the snapshot.
    const bak = await readFile(`${file}.bak`).catch(() => undefined);
    if (bak && scan.header?.h === snapshotHash(bak)) return state;
    throw new Error(`${file}${JOURNAL_SUFFIX}: its header names another snapshot`);
  }
  for (const r of scan.records) applyChanges(state as object, r);
  return state;
}
