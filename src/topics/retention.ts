// Age-based retention (XEP-0060 §16.4.4 pubsub#item_expire: "number of seconds after which to
// automatically purge items"), beside the count-based max_items the item store applies itself.
//
// Two halves. RetentionView wraps the item store every reader uses (XMPP items/query/catch-up,
// TAXII, bulk, status): an item older than its topic's item_expire is not there, from the second
// it expires. RetentionSweep deletes such items from the store periodically, so their space comes
// back; between sweeps they are hidden, never served. XEP-0060 asks for no notification when an
// item expires (notify_retract is about retractions), so none is sent: a node that holds a copy
// keeps it, as with max_items. Seqs are never given back (the store keeps its high-water mark).
//
// Expired items are a prefix of a topic's items in seq order: `published` is strictly increasing
// with seq per node (publish-clock.ts), an id published again moves to the end. The view finds
// that prefix from the oldest item on and stops at the first one still valid.
import type { Logger } from '../log.js';
import { audit } from '../log.js';
import { parseSubtopicNode } from '../filters/canonical.js';
import type { ItemStore, ItemStoreStats, NewItem, StoredItem } from '../store/types.js';
import type { Topic } from './types.js';

/** item_expire in seconds of the topic of `node` (a topic or a subtopic node), 0 = never. */
export type ExpireOf = (node: string) => number;

export function expireOfTopics(topic: (name: string) => Topic | undefined): ExpireOf {
  return (node) => topic(parseSubtopicNode(node)?.topic ?? node)?.itemExpire ?? 0;
}

const BATCH = 16;

export class RetentionView implements ItemStore {
  constructor(private readonly inner: ItemStore, private readonly expireOf: ExpireOf, private readonly now: () => number = Date.now) {}

  /** The highest seq of the expired prefix of `node`, 0 when nothing is hidden. */
  private hidden(node: string): number {
    const secs = this.expireOf(node);
    if (!(secs > 0)) return 0;
    const cutoff = this.now() - secs * 1000;
    let last = 0;
    for (;;) {
      const batch = this.inner.after(node, last, BATCH);
      for (const it of batch) {
        if (!(Date.parse(it.published) < cutoff)) return last;
        last = it.seq;
      }
      if (batch.length < BATCH) return last;
    }
  }

  append(topic: string, item: NewItem, maxItems: number): Promise<StoredItem> {
    return this.inner.append(topic, item, maxItems);
  }

  latest(topic: string, n: number): StoredItem[] {
    const h = this.hidden(topic);
    const out = this.inner.latest(topic, n);
    return h ? out.filter((i) => i.seq > h) : out;
  }

  after(topic: string, seq: number, limit: number): StoredItem[] {
    return this.inner.after(topic, Math.max(seq, this.hidden(topic)), limit);
  }

  get(topic: string, id: string): StoredItem | undefined {
    const it = this.inner.get(topic, id);
    return it && it.seq > this.hidden(topic) ? it : undefined;
  }

  list(topic: string): StoredItem[] {
    const h = this.hidden(topic);
    const out = this.inner.list(topic);
    return h ? out.filter((i) => i.seq > h) : out;
  }

  oldestSeq(topic: string): number | undefined {
    const h = this.hidden(topic);
    return h ? this.inner.after(topic, h, 1)[0]?.seq : this.inner.oldestSeq(topic);
  }

  highSeq(topic: string): number {
    return this.inner.highSeq(topic);
  }

  trim(topic: string, maxItems: number): Promise<number> {
    return this.inner.trim(topic, maxItems);
  }

  retract(topic: string, id: string): Promise<boolean> {
    return this.get(topic, id) ? this.inner.retract(topic, id) : Promise.resolve(false);
  }

  expire(topic: string, before: number): Promise<number> {
    return this.inner.expire(topic, before);
  }

  purge(topic: string): Promise<void> {
    return this.inner.purge(topic);
  }

  deleteTopic(topic: string): Promise<void> {
    return this.inner.deleteTopic(topic);
  }

  stats(): ItemStoreStats {
    return this.inner.stats();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface RetentionSweepDeps {
  items: ItemStore;
  /** The topics and their subtopic nodes (publisher-filtered topics store items under those). */
  topics: { allTopics(): Topic[]; subtopics(topic: string): { node: string }[] };
  log: Logger;
  /** Default one minute: how long an expired item may still take disk space (it is hidden at once). */
  intervalMs?: number;
  now?: () => number;
}

/** Deletes expired items from the store, every `intervalMs`, topic by topic. */
export class RetentionSweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(private readonly d: RetentionSweepDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.run(), this.d.intervalMs ?? 60_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One sweep (a sweep already under way is awaited instead): how many items were deleted. */
  run(): Promise<number> {
    this.running ??= this.sweep().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweep(): Promise<number> {
    let total = 0;
    const now = this.d.now?.() ?? Date.now();
    for (const t of this.d.topics.allTopics()) {
      if (!(t.itemExpire && t.itemExpire > 0)) continue;
      const before = now - t.itemExpire * 1000;
      for (const node of [t.name, ...this.d.topics.subtopics(t.name).map((s) => s.node)]) {
        try {
          const n = await this.d.items.expire(node, before);
          if (n) audit(this.d.log, 'items-expired', { topic: t.name, node, items: n, item_expire: t.itemExpire });
          total += n;
        } catch (err) {
          // The items stay hidden (RetentionView); the next sweep tries again.
          this.d.log.warn({ err, topic: t.name, node }, 'expired items could not be deleted; next sweep retries');
        }
      }
    }
    return total;
  }
}
