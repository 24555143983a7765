// PROTOCOL §13: the controller keeps each node's `published` strictly increasing, with at least
// one µs per object of the item before, so that TAXII's date_added (published + k µs for the
// k-th object) is unique and increasing and a client resuming from it neither skips nor repeats.
import type { ItemStore } from '../store/types.js';
import { formatMicros, parseMicros } from './micros.js';

export class PublishClock {
  /** node → the earliest µs the next item may carry. */
  private readonly next = new Map<string, number>();

  constructor(private readonly store: ItemStore) {}

  /** The `published` of an item of `objects` objects appended now to `node`. Call right before append. */
  stamp(node: string, now: Date, objects: number): string {
    const floor = this.next.get(node) ?? this.afterStored(node);
    const us = Math.max(now.getTime() * 1000, floor);
    this.next.set(node, us + Math.max(1, objects));
    return formatMicros(us);
  }

  /** A node's stored history was dropped (deleted topic): start again from the clock. */
  forget(node: string): void {
    this.next.delete(node);
  }

  /** After a restart: just past the newest stored item and its objects. */
  private afterStored(node: string): number {
    const last = this.store.latest(node, 1)[0];
    if (!last) return 0;
    const at = parseMicros(last.published);
    return at === undefined ? 0 : at + Math.max(1, objectCount(last.payload));
  }
}

/** Objects in a stored STIX payload (1 for anything else: XML payloads are one object). */
export function objectCount(payload: string): number {
  if (!payload.startsWith('{')) return 1;
  try {
    const doc = JSON.parse(payload) as { objects?: unknown };
    return Array.isArray(doc.objects) ? doc.objects.length : 1;
  } catch {
    return 1;
  }
}
