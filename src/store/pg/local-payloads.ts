// The payloads of the items a PostgreSQL-backed instance holds, kept on its own disk behind a
// memory cache bounded in bytes (store.cache_bytes), so that memory does not grow with what is
// stored. ItemStore reads are synchronous (every door relies on that); PostgreSQL reads are not.
// So each payload the instance reads from the database (at open, from the change feed) or
// stores itself is also appended to a local segment file, and a read that misses the memory
// cache is a synchronous positioned read of that file, as in the files store.
//
// This is a cache of the database, not a store: it is emptied at open and never fsync'd (the
// database holds what was acknowledged). Segments are append-only; a payload no longer held
// (trimmed, retracted, replaced) is dead space. When a full segment is mostly dead, its live
// payloads are copied to the current segment and it is deleted, so the disk used stays within
// a small multiple of what is held. Each payload carries a CRC-32: a read that does not check
// out throws (never wrong data) and the caller reads it from the database again.
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PayloadCache, SyncReader } from '../payload-cache.js';
import { crc32 } from '../record.js';

/** Where a payload is: its segment, offset, UTF-8 length and checksum. Moved by compaction. */
export interface PayloadRef {
  seg: number;
  off: number;
  readonly len: number;
  readonly crc: number;
  /** Held in memory instead (the local disk refused the write). */
  text?: string;
}

interface Segment {
  readonly n: number;
  readonly path: string;
  size: number;
  live: number;
  readonly refs: Set<PayloadRef>;
}

export interface LocalPayloadsOptions {
  /** Bytes of payloads kept in memory (LRU). */
  cacheBytes: number;
  /** A segment is closed for appends past this size (default 64 MiB). */
  segmentBytes?: number;
  /** Told once when the disk refuses a write (payloads are then held in memory). */
  onWriteError?: (e: Error) => void;
}

const SEGMENT = /^seg-(\d+)\.bin$/;

export class LocalPayloads {
  private readonly segments = new Map<number, Segment>();
  private current: Segment;
  private fd: number;
  private readonly reader = new SyncReader(16);
  private readonly cache: PayloadCache<PayloadRef>;
  private readonly segmentBytes: number;
  /** The compaction turn scheduled, if any. */
  private compacting: Promise<void> | undefined;
  private writeFailed = false;
  private closed = false;
  /** Payloads held in memory because the disk refused them (counted in stats). */
  private pinnedBytes = 0;
  compactions = 0;

  /** Empties `dir` of earlier segments (a cache: the database is the truth) and starts one. */
  constructor(private readonly dir: string, private readonly opts: LocalPayloadsOptions) {
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    this.cache = new PayloadCache<PayloadRef>(opts.cacheBytes);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(dir)) if (SEGMENT.test(name)) unlinkSync(join(dir, name));
    this.current = this.segment(1);
    this.fd = openSync(this.current.path, 'w', 0o600);
  }

  private segment(n: number): Segment {
    const s: Segment = { n, path: join(this.dir, `seg-${n}.bin`), size: 0, live: 0, refs: new Set() };
    this.segments.set(n, s);
    return s;
  }

  /** Keeps `text`; the answer is how to read it back. `cache`: also in memory now (default). */
  put(text: string, cache = true): PayloadRef {
    const buf = Buffer.from(text, 'utf8');
    const ref: PayloadRef = { seg: 0, off: 0, len: buf.length, crc: crc32(buf) };
    if (!this.write(ref, buf)) {
      ref.text = text;
      this.pinnedBytes += buf.length;
      return ref;
    }
    if (cache) this.cache.set(ref, text, buf.length);
    return ref;
  }

  /** The payload (memory, else disk). Throws if the disk copy does not check out. */
  read(ref: PayloadRef): string {
    if (ref.text !== undefined) return ref.text;
    const hit = this.cache.get(ref);
    if (hit !== undefined) return hit;
    const seg = this.segments.get(ref.seg);
    if (!seg || !seg.refs.has(ref)) throw new Error('payload is no longer held locally');
    const buf = this.reader.read(seg.path, ref.off, ref.len);
    if (buf.length !== ref.len || crc32(buf) !== ref.crc) throw new LocalPayloadDamaged(seg.path, ref.off);
    const text = buf.toString('utf8');
    this.cache.set(ref, text, ref.len);
    return text;
  }

  /** The payload is no longer held (trimmed, retracted, replaced, read again). */
  free(ref: PayloadRef): void {
    this.cache.delete(ref);
    if (ref.text !== undefined) {
      this.pinnedBytes -= ref.len;
      ref.text = undefined;
      return;
    }
    const seg = this.segments.get(ref.seg);
    if (!seg || !seg.refs.delete(ref)) return;
    seg.live -= ref.len;
    if (seg === this.current) return;
    if (seg.refs.size === 0) this.drop(seg);
    else if (seg.live * 4 < seg.size) this.scheduleCompaction();
  }

  private scheduleCompaction(): void {
    this.compacting ??= new Promise((resolve) => setImmediate(() => {
      this.compacting = undefined;
      this.compact();
      resolve();
    }));
  }

  /** Resolves once no compaction is pending. */
  async idle(): Promise<void> {
    while (this.compacting) await this.compacting;
  }

  /** Appends `buf` to the current segment (a new one past segmentBytes); false if the disk refused. */
  private write(ref: PayloadRef, buf: Buffer): boolean {
    if (this.closed) return false;
    try {
      if (this.current.size > 0 && this.current.size + buf.length > this.segmentBytes) this.roll();
      let done = 0;
      while (done < buf.length) done += writeSync(this.fd, buf, done, buf.length - done, this.current.size + done);
    } catch (e) {
      if (!this.writeFailed) this.opts.onWriteError?.(e as Error);
      this.writeFailed = true;
      return false;
    }
    ref.seg = this.current.n;
    ref.off = this.current.size;
    this.current.size += buf.length;
    this.current.live += buf.length;
    this.current.refs.add(ref);
    return true;
  }

  private roll(): void {
    const full = this.current;
    const fd = openSync(join(this.dir, `seg-${full.n + 1}.bin`), 'w', 0o600); // refused: we stay on `full`
    closeSync(this.fd);
    this.fd = fd;
    this.current = this.segment(full.n + 1);
    if (full.refs.size === 0) this.drop(full);
    else if (full.live * 4 < full.size) this.scheduleCompaction();
  }

  private drop(seg: Segment): void {
    this.segments.delete(seg.n);
    this.reader.forget(seg.path);
    try {
      unlinkSync(seg.path);
    } catch {
      // already gone: nothing to give back
    }
  }

  /**
   * Moves the live payloads of one mostly-dead segment to the current one and deletes it, then
   * looks for the next (one segment per turn of the event loop: at most a quarter of a segment
   * is copied at once).
   */
  private compact(): void {
    if (this.closed) return;
    const seg = [...this.segments.values()].find((s) => s !== this.current && s.live * 4 < s.size);
    if (!seg) return;
    for (const ref of [...seg.refs]) {
      let buf: Buffer;
      try {
        buf = Buffer.from(this.reader.read(seg.path, ref.off, ref.len));
      } catch {
        continue; // unreadable: left where it is, and its read will say so
      }
      if (buf.length !== ref.len || crc32(buf) !== ref.crc) continue;
      seg.refs.delete(ref);
      seg.live -= ref.len;
      if (!this.write(ref, buf)) {
        ref.text = buf.toString('utf8');
        this.pinnedBytes += ref.len;
      }
    }
    this.compactions++;
    if (seg.refs.size === 0) this.drop(seg);
    if ([...this.segments.values()].some((s) => s !== this.current && s.live * 4 < s.size && s.refs.size > 0)) this.scheduleCompaction();
  }

  stats(): { limit: number; bytes: number; items: number; hits: number; misses: number; diskReads: number; diskBytes: number; liveBytes: number; segments: number; memoryOnlyBytes: number; compactions: number } {
    let disk = 0;
    let live = 0;
    for (const s of this.segments.values()) {
      disk += s.size;
      live += s.live;
    }
    return {
      limit: this.cache.limit, bytes: this.cache.bytes, items: this.cache.size, hits: this.cache.hits, misses: this.cache.misses,
      diskReads: this.reader.reads, diskBytes: disk, liveBytes: live, segments: this.segments.size, memoryOnlyBytes: this.pinnedBytes, compactions: this.compactions,
    };
  }

  /** Closes the files and removes them (nothing in them outlives the process usefully). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.closeAll();
    try {
      closeSync(this.fd);
    } catch {
      // closed already
    }
    for (const s of this.segments.values()) rmSync(s.path, { force: true });
    this.segments.clear();
  }
}

/** A payload read back from the local disk does not match what was written. */
export class LocalPayloadDamaged extends Error {
  constructor(readonly file: string, readonly offset: number) {
    super(`the local copy of a payload (${file} at ${offset}) is damaged`);
    this.name = 'LocalPayloadDamaged';
  }
}
