// One topic: its append-only log file and the in-memory index replayed from it.
//
// Writes go through a queue. Whatever queued up while the previous write+fsync was in flight
// is written next as one buffer with one fdatasync (group commit), so the cost of durability
// is shared by concurrent publishers. The index changes only after the fsync, so a reader
// never sees an item that a crash could still take away.
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../log.js';
import type { FdCache } from './fd-cache.js';
import { fsyncDir, replaceFileDurably } from './fsutil.js';
import { encodeRecord, type LogRecord } from './record.js';
import type { StoredItem } from './types.js';

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
  groupCommitMs: number;
  compactFactor: number;
  compactMinDead: number;
  counters: { appends: number; fsyncs: number; compactions: number };
  log?: Logger;
  onFsync?: (seconds: number) => void;
}

export class TopicLog {
  /** Insertion order is seq order: an overwrite deletes and re-inserts its id. */
  readonly items = new Map<string, StoredItem>();
  /** Highest seq applied (durable). */
  hw = 0;
  /** Highest seq handed out, durable or not: seqs are never handed out twice. */
  private assigned = 0;
  private records = 0;
  private queue: Op[] = [];
  /** Set and cleared synchronously inside drain(), so no submit can slip between the two. */
  private draining = false;
  private drained: Promise<void> = Promise.resolve();

  constructor(readonly topic: string, readonly path: string, private readonly env: TopicLogEnv) {}

  /** Replay one decoded record (at open, and after each durable write). */
  apply(rec: LogRecord): unknown {
    this.records++;
    switch (rec.k) {
      case 'put': {
        const item: StoredItem = Object.freeze({ seq: rec.s, id: rec.id, publisher: rec.pub, payload: rec.p, published: rec.ts });
        this.items.delete(rec.id);
        this.items.set(rec.id, item);
        this.hw = Math.max(this.hw, rec.s);
        if (rec.max !== undefined) this.trimTo(rec.max);
        return item;
      }
      case 'ret':
        return this.items.delete(rec.id);
      case 'purge':
        this.items.clear();
        return undefined;
      case 'trim':
        return this.trimTo(rec.max);
      case 'hw':
        this.hw = Math.max(this.hw, rec.s);
        return undefined;
    }
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

  submit<R>(rec: LogRecord, compact = false): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ rec, frame: encodeRecord(rec), resolve: resolve as (r: unknown) => void, reject, compact });
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
    const t0 = process.hrtime.bigint();
    try {
      await this.env.fds.use(this.path, (fh, created) => appendDurably(fh, buf, created, this.path));
    } catch (e) {
      for (const op of batch) op.reject(e);
      return;
    }
    this.env.onFsync?.(Number(process.hrtime.bigint() - t0) / 1e9);
    this.env.counters.fsyncs++;
    const results = batch.map((op) => this.apply(op.rec));
    if (batch.some((op) => op.compact) || this.tooManyDead()) {
      // On failure the log as appended is still complete and durable; a later batch retries.
      await this.compact().catch((e: unknown) => {
        this.env.log?.warn({ topic: this.topic, err: (e as Error).message }, 'item log compaction failed; will retry');
      });
    }
    batch.forEach((op, i) => op.resolve(results[i]));
  }

  private tooManyDead(): boolean {
    const dead = this.records - this.items.size;
    return dead > this.env.compactMinDead && dead > this.env.compactFactor * this.items.size;
  }

  /** Rewrite the log as hw + live items: temp file, fsync, rename, fsync the directory. */
  private async compact(): Promise<void> {
    const recs: LogRecord[] = [{ k: 'hw', s: this.hw }];
    for (const it of this.items.values()) {
      recs.push({ k: 'put', s: it.seq, id: it.id, pub: it.publisher, ts: it.published, p: it.payload });
    }
    await this.env.fds.drop(this.path);
    await replaceFileDurably(this.path, Buffer.concat(recs.map(encodeRecord)), `${this.path}.compact-tmp`);
    this.records = recs.length;
    this.env.counters.compactions++;
  }

  private trimTo(max: number): number {
    let removed = 0;
    for (const id of this.items.keys()) {
      if (this.items.size <= max) break;
      this.items.delete(id);
      removed++;
    }
    return removed;
  }
}

/** Writes all of `buf` at the end of the file, then fdatasync (which covers the new size). */
async function appendDurably(fh: FileHandle, buf: Buffer, created: boolean, path: string): Promise<void> {
  const start = (await fh.stat()).size;
  try {
    let off = 0;
    while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
    await fh.datasync();
  } catch (e) {
    // Cut what may have been written, so an unacknowledged half-batch cannot surface later.
    await fh.truncate(start).catch(() => undefined);
    throw e;
  }
  if (created) await fsyncDir(dirname(path)); // a new file's name must be durable too
}
