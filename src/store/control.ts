// Control-plane state on lowdb with a durable adapter. Writes are serialized and coalesced:
// updates arriving while a write is in flight share the single write that follows it, so a
// burst of N updates costs at most two writes, and each update resolves once it is on disk.
import { Low } from 'lowdb';
import { DurableJsonFile } from './json-file.js';
import type { ControlSource, ControlStore, ControlStoreOptions } from './types.js';

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

class LowControlStore<T> implements ControlStore<T> {
  private closed = false;
  private readonly writer: CoalescingWriter;

  constructor(private readonly low: Low<T>, readonly source: ControlSource, onWrite?: () => void) {
    this.writer = new CoalescingWriter(async () => {
      await this.low.write();
      onWrite?.();
    });
  }

  get data(): T {
    return this.low.data;
  }

  update(mutator: (d: T) => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error('control store is closed'));
    // Mutate a copy so a throwing mutator leaves the state as it was.
    const next = structuredClone(this.low.data);
    try {
      mutator(next);
    } catch (e) {
      return Promise.reject(e);
    }
    this.low.data = next;
    return this.writer.request();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.writer.idle();
  }
}

export async function openControlStore<T>(
  file: string,
  defaults: T,
  opts: ControlStoreOptions = {},
): Promise<ControlStore<T>> {
  const adapter = new DurableJsonFile<T>(file, opts.log, opts.onCorrupt);
  const low = new Low<T>(adapter, structuredClone(defaults));
  await low.read();
  return new LowControlStore(low, adapter.source, opts.onWrite);
}
