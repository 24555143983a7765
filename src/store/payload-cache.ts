// Payloads live in the topic logs, not in memory. Reads go through a cache bounded in bytes
// (least recently used first out) and, on a miss, a synchronous positioned read of the frame:
// a page-cache hit costs microseconds, and keeping reads synchronous keeps the ItemStore read
// interface (used by every door) as it was. Bounded sets of read descriptors, like FdCache.
import { closeSync, openSync, readSync } from 'node:fs';

export class PayloadCache<K> {
  private readonly entries = new Map<K, { text: string; bytes: number }>();
  bytes = 0;
  hits = 0;
  misses = 0;

  constructor(readonly limit: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K): string | undefined {
    const e = this.entries.get(key);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.entries.delete(key); // re-insert: Map order is the LRU order
    this.entries.set(key, e);
    this.hits++;
    return e.text;
  }

  /** `bytes`: the payload's UTF-8 size (what it costs in memory, near enough). */
  set(key: K, text: string, bytes: number): void {
    this.delete(key);
    if (bytes > this.limit) return;
    this.entries.set(key, { text, bytes });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.limit) break;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }

  delete(key: K): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.bytes -= e.bytes;
  }
}

/** Read descriptors by path, at most `max` open (LRU). */
export class SyncReader {
  private readonly fds = new Map<string, number>();
  /** Reused for every read (see read()). */
  private scratch = Buffer.alloc(0);
  reads = 0;

  constructor(private readonly max: number) {}

  /**
   * Bytes [pos, pos+len) of `path` (fewer at its end). The answer is valid until the next read:
   * one buffer is reused, so reading payloads back leaves no trail of freed chunks.
   */
  read(path: string, pos: number, len: number): Buffer {
    let fd = this.fds.get(path);
    if (fd === undefined) fd = openSync(path, 'r');
    else this.fds.delete(path);
    this.fds.set(path, fd);
    for (const [p, f] of this.fds) {
      if (this.fds.size <= this.max) break;
      this.fds.delete(p);
      closeSync(f);
    }
    if (this.scratch.length < len) this.scratch = Buffer.allocUnsafe(Math.max(len, 2 * this.scratch.length));
    const buf = this.scratch.subarray(0, len);
    let got = 0;
    while (got < len) {
      const n = readSync(fd, buf, got, len - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    this.reads++;
    return got === len ? buf : buf.subarray(0, got);
  }

  /** Closes the descriptor on `path` (its file was replaced). */
  forget(path: string): void {
    const fd = this.fds.get(path);
    if (fd === undefined) return;
    this.fds.delete(path);
    closeSync(fd);
  }

  closeAll(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
