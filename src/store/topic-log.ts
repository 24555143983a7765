// One topic: its append-only log file, its seq file, and the in-memory index of its items.
//
// Writes go through a queue. Whatever queued up while the previous write+fsync was in flight
// is written next as one buffer with one fdatasync (group commit), so the cost of durability
// is shared by concurrent publishers. Then the seq file takes the batch's highest seq, and only
// then does the index change and the publishers get their answer: a reader never sees an item
// that a crash could still take away, and no damage to the log can hand its seq out again.
//
// The index holds each item's metadata and where its frame is; payloads are read back by
// offset through a bounded cache (payload-cache.ts).
import type { FileHandle } from 'node:fs/promises';
import { link, open } from 'node:fs/promises';
import { renameSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../log.js';
import type { FdCache } from './fd-cache.js';
import { fsyncDir, unlinkIfExists, writeAll } from './fsutil.js';
import type { LogRecord } from './record.js';
import { encodeFrame, frameProblem, type MetaRecord } from './frame.js';
import type { PayloadCache, SyncReader } from './payload-cache.js';
import { SEQ_SUFFIX, writeSeqFile } from './seq-file.js';
import type { ItemDamage, StoredItem } from './types.js';

/** An item as indexed: where its frame is in the current file (compaction moves it). */
export interface Entry {
  readonly seq: number;
  readonly id: string;
  readonly publisher: string;
  readonly published: string;
  off: number;
  len: number;
  readonly payloadAt: number;
  readonly payloadLen: number;
  view?: StoredItem;
}

export interface Loc {
  off: number;
  len: number;
  payloadAt: number;
  payloadLen: number;
}

interface Op {
  rec: LogRecord;
  frame: Buffer;
  resolve: (r: unknown) => void;
  reject: (e: unknown) => void;
  /** Rewrite the log right after this op (deleteTopic). */
  compact?: boolean;
}

export interface TopicLogEnv {
  fds: FdCache;
  reader: SyncReader;
  cache: PayloadCache<Entry>;
  groupCommitMs: number;
  compactFactor: number;
  compactMinDead: number;
  counters: { appends: number; fsyncs: number; compactions: number };
  damage: ItemDamage[];
  log?: Logger;
  onFsync?: (seconds: number) => void;
}

export class TopicLog {
  /** Insertion order is seq order: an overwrite deletes and re-inserts its id. */
  readonly items = new Map<string, Entry>();
  /** Highest seq known to be taken: from the log, the seq file, or a damaged frame's header. */
  hw = 0;
  /** What the seq file holds. */
  durableSeq = 0;
  /** Highest seq handed out, durable or not: seqs are never handed out twice. */
  private assigned = 0;
  private records = 0;
  private queue: Op[] = [];
  /** Set and cleared synchronously inside drain(), so no submit can slip between the two. */
  private draining = false;
  private drained: Promise<void> = Promise.resolve();

  constructor(readonly topic: string, readonly path: string, private readonly env: TopicLogEnv) {}

  get seqPath(): string {
    return this.path + SEQ_SUFFIX;
  }

  /** Replay one record (at open from its frame, and after each durable write). */
  apply(rec: MetaRecord, loc: Loc | undefined, payload?: string): unknown {
    this.records++;
    switch (rec.k) {
      case 'put': {
        const e: Entry = { seq: rec.s, id: rec.id, publisher: rec.pub, published: rec.ts, off: loc?.off ?? -1, len: loc?.len ?? 0, payloadAt: loc?.payloadAt ?? 0, payloadLen: loc?.payloadLen ?? 0 };
        const old = this.items.get(rec.id);
        if (old) this.remove(old);
        this.items.set(rec.id, e);
        if (payload !== undefined) this.env.cache.set(e, payload, e.payloadLen);
        this.raise(rec.s);
        if (rec.max !== undefined) this.trimTo(rec.max);
        return e;
      }
      case 'ret': {
        const e = this.items.get(rec.id);
        if (e) this.remove(e);
        return e !== undefined;
      }
      case 'purge':
        for (const e of this.items.values()) this.env.cache.delete(e);
        this.items.clear();
        return undefined;
      case 'trim':
        return this.trimTo(rec.max);
      case 'hw':
        this.raise(rec.s);
        return undefined;
    }
  }

  raise(seq: number): void {
    this.hw = Math.max(this.hw, seq);
  }

  /** Call once replay is done. */
  opened(records: number): void {
    this.records = records;
    this.assigned = this.hw;
  }

  nextSeq(): number {
    return ++this.assigned;
  }

  /** True if a put for `id` is queued but not yet durable. */
  pendingPut(id: string): boolean {
    return this.queue.some((op) => op.rec.k === 'put' && op.rec.id === id);
  }

  /** The item as callers see it; its payload is read on demand. */
  view(e: Entry): StoredItem {
    if (!e.view) {
      const v = { seq: e.seq, id: e.id, publisher: e.publisher, published: e.published } as StoredItem;
      Object.defineProperty(v, 'payload', { enumerable: true, get: () => this.payloadOf(e) });
      e.view = Object.freeze(v);
    }
    return e.view;
  }

  /** From the cache, else read by offset and checked against its checksum. */
  payloadOf(e: Entry): string {
    const cached = this.env.cache.get(e);
    if (cached !== undefined) return cached;
    if (this.items.get(e.id) !== e) throw new Error(`item ${e.id} (seq ${e.seq}) of ${this.topic} is no longer stored`);
    const frame = this.env.reader.read(this.path, e.off, e.len);
    const problem = frame.length === e.len ? frameProblem(frame, e.seq) : 'frame cut short';
    if (problem) {
      this.lose(e, problem);
      throw new Error(`item ${e.id} (seq ${e.seq}) of ${this.topic} is damaged on disk (${problem}); it is dropped and reported`);
    }
    const text = frame.toString('utf8', e.payloadAt, e.payloadAt + e.payloadLen);
    this.env.cache.set(e, text, e.payloadLen);
    return text;
  }

  /** A frame found damaged while running: drop the item, say so loudly. */
  private lose(e: Entry, reason: string): void {
    this.remove(e);
    const d: ItemDamage = { topic: this.topic, offset: e.off, bytes: e.len, seqs: [e.seq], reason, found: 'read' };
    this.env.damage.push(d);
    this.env.log?.error({ ...d, file: this.path, item: e.id }, 'item log damaged: an item could not be read back and is lost');
  }

  submit<R>(rec: LogRecord, compact = false): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ rec, frame: encodeFrame(rec), resolve: resolve as (r: unknown) => void, reject, compact });
      if (!this.draining) this.drained = this.drain();
    });
  }

  /** Resolves once everything submitted so far is written (or failed). */
  async idle(): Promise<void> {
    while (this.draining) await this.drained;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.queue.length > 0) {
      if (this.env.groupCommitMs > 0) await new Promise((r) => setTimeout(r, this.env.groupCommitMs));
      else await new Promise((r) => setImmediate(r)); // let this tick's appends join
      const batch = this.queue;
      this.queue = [];
      await this.writeBatch(batch);
    }
    this.draining = false;
  }

  private async writeBatch(batch: Op[]): Promise<void> {
    const buf = Buffer.concat(batch.map((op) => op.frame));
    let start: number;
    const t0 = process.hrtime.bigint();
    try {
      start = await this.env.fds.use(this.path, (fh, created) => appendDurably(fh, buf, created, this.path));
    } catch (e) {
      for (const op of batch) op.reject(e);
      return;
    }
    this.env.onFsync?.(Number(process.hrtime.bigint() - t0) / 1e9);
    this.env.counters.fsyncs++;
    await this.keepSeq(Math.max(0, ...batch.map((op) => (op.rec.k === 'put' ? op.rec.s : 0))));
    let off = start;
    const results = batch.map((op) => {
      const r = op.rec;
      const loc: Loc = { off, len: op.frame.length, payloadAt: op.frame.length - (r.k === 'put' ? Buffer.byteLength(r.p) : 0), payloadLen: r.k === 'put' ? Buffer.byteLength(r.p) : 0 };
      off += op.frame.length;
      if (r.k !== 'put') return this.apply(r, loc);
      const { p, ...meta } = r;
      this.apply(meta, loc, p);
      // The publisher's copy carries its payload: notifying subscribers needs no read.
      return Object.freeze({ seq: r.s, id: r.id, publisher: r.pub, payload: p, published: r.ts });
    });
    if (batch.some((op) => op.compact) || this.tooManyDead()) {
      // On failure the log as appended is still complete and durable; a later batch retries.
      await this.compact().catch((e: unknown) => {
        this.env.log?.warn({ topic: this.topic, err: (e as Error).message }, 'item log compaction failed; will retry');
      });
    }
    batch.forEach((op, i) => op.resolve(results[i]));
  }

  /**
   * The seq file must hold `seq` before the batch is acknowledged. If it cannot be written the
   * items are still durable in the log (refusing them now would not take them back): say so.
   */
  async keepSeq(seq: number): Promise<void> {
    if (seq <= this.durableSeq) return;
    try {
      await writeSeqFile(this.seqPath, seq);
      this.durableSeq = seq;
    } catch (e) {
      this.env.log?.error({ topic: this.topic, file: this.seqPath, seq, err: (e as Error).message }, 'could not write the seq file: until it is, damage to the log could lower the high-water mark');
    }
  }

  private tooManyDead(): boolean {
    const dead = this.records - this.items.size;
    return dead > this.env.compactMinDead && dead > this.env.compactFactor * this.items.size;
  }

  /**
   * Rewrite the log as hw + the live items' frames, copied as they are: temp file, fsync,
   * rename, fsync the directory. `keepOriginalAs`: hard-link the old log there first (evidence
   * of damage). The rename and the move of every offset happen in one synchronous step, so no
   * payload read ever pairs an old offset with the new file.
   */
  async compact(keepOriginalAs?: string): Promise<void> {
    const tmp = `${this.path}.compact-tmp`;
    await this.env.fds.drop(this.path);
    const moves: [Entry, number][] = [];
    const out = await open(tmp, 'w', 0o600);
    let size = 0;
    try {
      const src = this.items.size > 0 ? await open(this.path, 'r') : undefined;
      try {
        const chunks: Buffer[] = [encodeFrame({ k: 'hw', s: this.hw })];
        let pending = chunks[0]!.length;
        size = pending;
        for (const e of [...this.items.values()]) {
          const frame = Buffer.allocUnsafe(e.len);
          const { bytesRead } = await src!.read(frame, 0, e.len, e.off);
          const problem = bytesRead === e.len ? frameProblem(frame, e.seq) : 'frame cut short';
          if (problem) {
            this.lose(e, problem);
            continue;
          }
          moves.push([e, size]);
          chunks.push(frame);
          size += e.len;
          pending += e.len;
          if (pending >= 1 << 20) {
            await writeAll(out, Buffer.concat(chunks.splice(0)));
            pending = 0;
          }
        }
        await writeAll(out, Buffer.concat(chunks));
        await out.sync();
      } finally {
        await src?.close();
      }
    } finally {
      await out.close();
    }
    if (keepOriginalAs) {
      try {
        await link(this.path, keepOriginalAs);
      } catch (e) {
        await unlinkIfExists(tmp);
        throw e;
      }
    }
    renameSync(tmp, this.path);
    this.env.reader.forget(this.path);
    for (const [e, off] of moves) e.off = off;
    this.records = moves.length + 1;
    this.env.counters.compactions++;
    await fsyncDir(dirname(this.path));
  }

  private remove(e: Entry): void {
    this.items.delete(e.id);
    this.env.cache.delete(e);
  }

  private trimTo(max: number): number {
    let removed = 0;
    // Deleting the current entry while iterating a Map is safe; the first check usually ends it.
    for (const e of this.items.values()) {
      if (this.items.size <= max) break;
      this.remove(e);
      removed++;
    }
    return removed;
  }
}

/**
 * Writes all of `buf` at the end of the file, then fdatasync (which covers the new size).
 * Returns the offset it was written at.
 */
async function appendDurably(fh: FileHandle, buf: Buffer, created: boolean, path: string): Promise<number> {
  const start = (await fh.stat()).size;
  try {
    await writeAll(fh, buf);
    await fh.datasync();
  } catch (e) {
    // Cut what may have been written, so an unacknowledged half-batch cannot surface later.
    await fh.truncate(start).catch(() => undefined);
    throw e;
  }
  if (created) await fsyncDir(dirname(path)); // a new file's name must be durable too
  return start;
}
