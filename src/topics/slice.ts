// Long loops in the core (a publish cut for every subtopic) give the event loop a turn every
// few milliseconds, so one stanza cannot hold every other node's requests for long (issue 16).
import { performance } from 'node:perf_hooks';

/** Run this long between yields; well under the ~50 ms a request may wait behind another. */
export const SLICE_MS = 10;

export class Slice {
  private start = performance.now();

  constructor(private readonly ms = SLICE_MS) {}

  /** Resolves at once within the slice, else after one turn of the event loop. */
  async turn(): Promise<void> {
    if (performance.now() - this.start < this.ms) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.start = performance.now();
  }
}
