// A bounded set of open append handles: with 1,000+ topics we cannot keep one fd per topic.
// Least recently used idle handles are closed first; a handle in use is never closed under
// its writer (the set may exceed its bound briefly instead).
import { open, type FileHandle } from 'node:fs/promises';

interface Entry {
  fh: FileHandle;
  busy: number;
}

export class FdCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Runs `fn` with an append handle on `path`, opening (and creating) it if needed. */
  async use<R>(path: string, fn: (fh: FileHandle, created: boolean) => Promise<R>): Promise<R> {
    let entry = this.entries.get(path);
    let created = false;
    if (entry) {
      this.entries.delete(path); // re-insert: Map order is the LRU order
    } else {
      const fh = await open(path, 'a', 0o600);
      created = (await fh.stat()).size === 0;
      entry = { fh, busy: 0 };
    }
    this.entries.set(path, entry);
    entry.busy++;
    try {
      return await fn(entry.fh, created);
    } finally {
      entry.busy--;
      await this.evict();
    }
  }

  /** Closes the handle on `path` (before its file is replaced or removed). */
  async drop(path: string): Promise<void> {
    const entry = this.entries.get(path);
    if (!entry) return;
    this.entries.delete(path);
    await entry.fh.close();
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.fh.close()));
  }

  private async evict(): Promise<void> {
    for (const [path, entry] of this.entries) {
      if (this.entries.size <= this.max) return;
      if (entry.busy > 0) continue;
      this.entries.delete(path);
      await entry.fh.close();
    }
  }
}
