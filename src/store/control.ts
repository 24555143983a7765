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
// Folding: at close, and at open after a replay, the state is written as a new snapshot (tmp +
// fsync + `.bak` link + rename, as always) and a fresh journal naming that snapshot's sha256
// replaces the old one (tmp + fsync + rename). When the journal outgrows the snapshot (and at
// least `foldBytes`), the same happens in the background, while updates go on being appended
// and acknowledged: the snapshot's text is built in slices (snapshot-text.ts) up to a moment T';
// at T' a mark naming its hash is queued in the journal (the records before it are in that
// snapshot, those after it are not); once the mark is durable the snapshot is written; then,
// between two appends, the journal is replaced by one naming the new snapshot and holding the
// records written after the mark. Every fold writes the snapshot once per at least its own size
// of journal, so the cost per change stays proportional to the change.
//
// Opening: the snapshot is read as before (refusing or falling back to `.bak` per
// `store.control_on_corrupt`); then the journal: its header must name that snapshot —
//   the same hash                 → replay its records;
//   the hash of `.bak`, or no record → a fold that crashed after its rename: the records are
//                                   in the snapshot already — those before a mark naming the
//                                   snapshot, when there is one (a background fold): the
//                                   records after it are replayed;
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
import { changeFrame, headerFrame, JOURNAL_SUFFIX, markFrame, scanJournal, snapshotHash, type JournalScan } from './journal.js';
import { SlicedSnapshot } from './snapshot-text.js';
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

/**
 * Group commit with pipelined flushes. `stage` puts the next batch in the file (one at a time,
 * in order: each starts after the previous returned) and returns its flush (fdatasync), or null
 * when it made itself durable; up to `depth` flushes run at once, beside the next stage — the
 * kernel merges concurrent fdatasyncs of a file into one journal commit, so a change waits for
 * about one flush, not for the one in flight and then its own. Batches are acknowledged in
 * order, each once its own flush and every earlier batch's have returned; once one fails, every
 * batch staged after it rejects too (with `after(e)`): its bytes follow the failed ones.
 */
export class PipelinedWriter {
  private next: Deferred | null = null;
  private staging = false;
  private flushing = 0;
  /** Settles with whether every batch so far was acknowledged. */
  private tail: Promise<unknown> = Promise.resolve();
  private failure: unknown;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly stage: () => Promise<(() => Promise<void>) | null>, private readonly after: (e: unknown) => unknown, private readonly depth = 4) {}

  request(): Promise<void> {
    if (!this.next) this.next = deferred();
    const p = this.next.promise;
    this.pump();
    return p;
  }

  /** Resolves once every flush in flight has returned (a stage that must be alone awaits it). */
  async flushed(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  /** Resolves once nothing is pending, staging or flushing. */
  async idle(): Promise<void> {
    while (this.next || this.staging || this.inflight.size) {
      await Promise.allSettled([this.tail, ...this.inflight]);
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  private pump(): void {
    if (this.staging || !this.next || this.flushing >= this.depth) return;
    const d = this.next;
    this.next = null;
    this.staging = true;
    void this.run(d);
  }

  private async run(d: Deferred): Promise<void> {
    let flush: (() => Promise<void>) | null = null;
    let staged: Promise<void>;
    try {
      flush = this.failure === undefined ? await this.stage() : null;
      staged = this.failure === undefined ? Promise.resolve() : Promise.reject(this.after(this.failure));
    } catch (e) {
      this.failure ??= e;
      staged = Promise.reject(e);
    }
    this.staging = false;
    const own = staged.then(async () => {
      if (!flush) return;
      this.flushing++;
      try {
        await flush();
      } catch (e) {
        this.failure ??= e;
        throw e;
      } finally {
        this.flushing--;
      }
    });
    this.inflight.add(own);
    own.then(() => this.inflight.delete(own), () => this.inflight.delete(own));
    const prev = this.tail;
    this.tail = (async () => {
      const r = await Promise.allSettled([own, prev]);
      if (r[0].status === 'rejected') d.reject(r[0].reason);
      else if (this.failure !== undefined) d.reject(this.after(this.failure)); // an earlier batch failed
      else d.resolve();
      this.pump();
    })();
    this.pump();
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
  /** Resolves once no background fold is running. */
  foldsSettled(): Promise<void>;
}

class JournaledControlStore<T> implements ControlStore<T>, ControlStoreInternals {
  private closed = false;
  /** Set by the first failed write: every later change is refused (fail closed). */
  private failed: ControlStoreFailedError | undefined;
  private readonly writer: PipelinedWriter;
  private readonly journal: string;
  private fh: FileHandle | undefined;
  private pending: Buffer[] = [];
  /** Index in `pending` of a background fold's mark, or -1. */
  private pendingMark = -1;
  /** A background fold building its snapshot's text: told of every change meanwhile. */
  private slicing: SlicedSnapshot | undefined;
  private folding: Promise<void> | undefined;
  /** Frames appended after the mark (they go in the new journal); undefined when no mark is written. */
  private sinceMark: Buffer[] | undefined;
  /** Set once a background fold's snapshot is in place: the next write swaps the journal first. */
  private swapTo: string | undefined;
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
    const failed = (e: unknown): ControlStoreFailedError => {
      if (!this.failed) {
        this.failed = new ControlStoreFailedError(this.adapter.file, e);
        this.log?.error({ err: e, file: this.adapter.file, journal: this.journal }, 'control store write failed: refusing every change until restart (fail closed)');
      }
      return this.failed;
    };
    this.writer = new PipelinedWriter(async () => {
      const frames = this.pending;
      const markAt = this.pendingMark;
      this.pending = [];
      this.pendingMark = -1;
      // Queued behind a failed write: applied in memory, never to be acknowledged.
      if (this.failed) throw this.failed;
      const size = frames.reduce((n, f) => n + f.length, 0);
      let flush: (() => Promise<void>) | null = null;
      try {
        if (this.swapTo !== undefined || this.mustFold) await this.writer.flushed(); // the old journal is done with
        if (this.swapTo !== undefined) await this.swapJournal();
        if (this.mustFold) {
          // The snapshot taken now holds these frames' changes (and all before them).
          await this.fold();
        } else if (frames.length) {
          const fh = this.fh!;
          await writeAll(fh, frames.length === 1 ? frames[0]! : Buffer.concat(frames, size));
          flush = async () => {
            try {
              await fh.datasync();
            } catch (e) {
              throw failed(e);
            }
            opts.onWrite?.();
          };
          this.bytes += size;
          this.records += frames.length - (markAt >= 0 ? 1 : 0);
          if (markAt >= 0) this.sinceMark = frames.slice(markAt + 1);
          else this.sinceMark?.push(...frames);
        }
        if (!this.folding && !this.mustFold && !this.closed && this.bytes > Math.max(this.foldBytes, this.adapter.bytes)) {
          this.folding = this.backgroundFold();
        }
      } catch (e) {
        throw failed(e);
      }
      if (!flush) opts.onWrite?.();
      return flush;
    }, (e) => failed(e));
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

  async foldsSettled(): Promise<void> {
    while (this.folding) await this.folding;
  }

  update(mutator: (d: T) => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error('control store is closed'));
    if (this.failed) return Promise.reject(this.failed);
    const tracker = new ChangeTracker(this.low.data as T & object);
    let done: ReturnType<typeof tracker.finish>;
    try {
      mutator(tracker.root);
      done = tracker.finish();
    } catch (e) {
      tracker.undo();
      return Promise.reject(e);
    }
    if (this.slicing) for (const [path] of done.changes) this.slicing.touch(path);
    if (done.json.length) this.pending.push(changeFrame(done.json));
    return this.writer.request();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.foldsSettled();
    await this.writer.idle();
    if (!this.failed && (this.records > 0 || this.mustFold)) {
      this.mustFold = true;
      await this.writer.request();
    }
    await this.fh?.close();
    this.fh = undefined;
  }

  /**
   * The fold of a journal that outgrew its snapshot, while updates go on (see the top). A
   * failure fails the store closed, as a failed append does.
   */
  private async backgroundFold(): Promise<void> {
    const snap = new SlicedSnapshot(this.low.data as Record<string, unknown>);
    this.slicing = snap;
    try {
      await snap.build();
      if (this.failed) return;
      const text = snap.finish(); // the state now: every change applied so far, none after
      this.slicing = undefined;
      const h = snapshotHash(text);
      this.pendingMark = this.pending.length;
      this.pending.push(markFrame(h));
      await this.writer.request(); // the mark is durable: nothing after it is taken for folded
      await this.adapter.writeText(text);
      this.swapTo = h;
      await this.writer.request(); // the journal is swapped before the next append
    } catch (e) {
      if (!this.failed) {
        this.failed = new ControlStoreFailedError(this.adapter.file, e);
        this.log?.error({ err: e, file: this.adapter.file }, 'control store fold failed: refusing every change until restart (fail closed)');
      }
    } finally {
      this.slicing = undefined;
      this.folding = undefined;
    }
  }

  /** Inside a write: the journal becomes one naming the new snapshot, with the frames written after the mark. */
  private async swapJournal(): Promise<void> {
    const frames = this.sinceMark ?? [];
    const head = headerFrame(this.swapTo!);
    const body = Buffer.concat([head, ...frames]);
    const tmp = `${this.journal}.tmp-${process.pid}`;
    await writeSynced(tmp, body);
    await rename(tmp, this.journal);
    await fsyncDir(dirname(this.journal));
    await this.fh?.close();
    this.fh = await open(this.journal, 'a');
    this.bytes = body.length;
    this.records = frames.length;
    this.sinceMark = undefined;
    this.swapTo = undefined;
    this.foldCount++;
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
      const mark = lastMark(scan, this.adapter.hash);
      if (mark) {
        // A background fold wrote its snapshot, not yet its journal: the records after the mark.
        this.log?.warn({ file: this.adapter.file, journal: this.journal, folded: mark.at, after: records.length - mark.at }, 'control store journal partly folded into the snapshot (a fold was interrupted); replaying the changes made after it');
        records = records.slice(mark.at);
        replay = true;
      } else {
        this.log?.warn({ file: this.adapter.file, journal: this.journal, records: records.length }, 'control store journal already folded into the snapshot (a fold was interrupted); starting a new journal');
      }
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

/** The last fold mark naming snapshot `hash`. */
function lastMark(scan: JournalScan, hash: string | undefined): { h: string; at: number } | undefined {
  if (!hash) return undefined;
  for (let i = scan.marks.length - 1; i >= 0; i--) if (scan.marks[i]!.h === hash) return scan.marks[i];
  return undefined;
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
  let records = scan.records;
  const hash = text === undefined ? null : snapshotHash(text);
  if (scan.header?.h !== hash) {
    // A fold interrupted after its snapshot's rename: the records are in the snapshot (those
    // before its mark, if it was a background fold).
    const bak = await readFile(`${file}.bak`).catch(() => undefined);
    if (!bak || scan.header?.h !== snapshotHash(bak)) throw new Error(`${file}${JOURNAL_SUFFIX}: its header names another snapshot`);
    const mark = lastMark(scan, hash ?? undefined);
    if (!mark) return state;
    records = records.slice(mark.at);
  }
  for (const r of records) applyChanges(state as object, r);
  return state;
}
