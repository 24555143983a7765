// The objects of a topic as TAXII sees them (PROTOCOL §13 "Objects"): every STIX object of
// every stored item is one object version with date_added = the item's published + k µs.
// The item store keeps items; this index keeps, per topic and in (seq, k) order, what paging
// and filtering need without reading payloads: id, type, version, spec_version, TLP. It is
// rebuilt from the store after a restart (read lazily, yielding to the event loop) and follows
// it by seq; items trimmed, retracted or overwritten are found dead when read (see live()).
import type { ItemStore, StoredItem } from '../store/types.js';
import type { StixObject } from '../payloads/types.js';
import type { Tlp } from '../filters/types.js';
import { objectTlp } from '../filters/tlp.js';
import { formatMicros, parseMicros } from '../topics/micros.js';
import { Slice } from '../topics/slice.js';

export interface ObjectEntry {
  readonly seq: number;
  /** Position of the object in its item (from 0). */
  readonly k: number;
  /** The item's id (to read it back and to tell whether it is still stored). */
  readonly item: string;
  readonly id: string;
  readonly type: string;
  /** `modified`, else `created`, else date_added, as written. */
  readonly version: string;
  readonly versionUs: number;
  /** date_added in µs. */
  readonly added: number;
  readonly spec: string;
  /** The object's TLP counting granular markings; undefined: unmarked. */
  readonly tlp: Tlp | undefined;
}

export class TopicObjects {
  /** Entries in (seq, k) order; those before `start` are gone. */
  private entries: ObjectEntry[] = [];
  private start = 0;
  readonly byId = new Map<string, ObjectEntry[]>();
  private high = 0;
  private syncing: Promise<void> | null = null;

  constructor(private readonly store: ItemStore, readonly topic: string) {}

  /** Brings the index up to the store (new items, trimmed ones). */
  sync(): Promise<void> {
    this.dropTrimmed();
    if (this.store.highSeq(this.topic) <= this.high) return Promise.resolve();
    this.syncing ??= this.readNew().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async readNew(): Promise<void> {
    const slice = new Slice();
    for (;;) {
      const batch = this.store.after(this.topic, this.high, 256);
      if (batch.length === 0) return;
      for (const item of batch) {
        this.add(item);
        this.high = item.seq;
        await slice.turn();
      }
    }
  }

  private add(item: StoredItem): void {
    const objects = parseObjects(item.payload);
    const published = parseMicros(item.published) ?? Date.parse(item.published) * 1000;
    for (let k = 0; k < objects.length; k++) {
      const o = objects[k]!;
      const added = published + k;
      const v = typeof o.modified === 'string' ? o.modified : typeof o.created === 'string' ? o.created : undefined;
      const versionUs = (v !== undefined ? parseMicros(v) : undefined) ?? added;
      const e: ObjectEntry = {
        seq: item.seq, k, item: item.id, id: o.id, type: o.type,
        version: v ?? formatMicros(added), versionUs, added,
        spec: typeof o.spec_version === 'string' ? o.spec_version : '2.1',
        tlp: objectTlp(o, { granular: true }),
      };
      this.entries.push(e);
      const list = this.byId.get(o.id);
      if (list) list.push(e);
      else this.byId.set(o.id, [e]);
    }
  }

  /** Items older than the store's oldest are gone for good (trim, purge, delete). */
  private dropTrimmed(): void {
    const oldest = this.store.oldestSeq(this.topic) ?? Infinity;
    let i = this.start;
    while (i < this.entries.length && this.entries[i]!.seq < oldest) {
      const e = this.entries[i]!;
      const list = this.byId.get(e.id);
      if (list) {
        const rest = list.filter((x) => x !== e);
        if (rest.length) this.byId.set(e.id, rest);
        else this.byId.delete(e.id);
      }
      i++;
    }
    this.start = i;
    if (this.start > 4096 && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start);
      this.start = 0;
    }
  }

  /** True while the entry's item is stored under that seq (not retracted, overwritten, trimmed). */
  live(e: ObjectEntry): boolean {
    return this.store.get(this.topic, e.item)?.seq === e.seq;
  }

  get size(): number {
    return this.entries.length - this.start;
  }

  at(i: number): ObjectEntry | undefined {
    return i >= this.start ? this.entries[i] : undefined;
  }

  get end(): number {
    return this.entries.length;
  }

  /** Index of the first entry after position (seq, k). */
  after(seq: number, k: number): number {
    let lo = this.start;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.entries[mid]!;
      if (e.seq < seq || (e.seq === seq && e.k <= k)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first entry added strictly after `us` (date_added increases with (seq, k)). */
  addedAfter(us: number): number {
    let lo = this.start;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.added <= us) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get first(): number {
    return this.start;
  }
}

/** The objects of a stored STIX payload (validated at publish: a bundle, an envelope or one object). */
export function parseObjects(payload: string): StixObject[] {
  try {
    const doc = JSON.parse(payload) as { type?: unknown; objects?: unknown };
    if (Array.isArray(doc.objects)) return doc.objects.filter(isObject);
    return isObject(doc) && doc.type !== 'bundle' ? [doc as StixObject] : [];
  } catch {
    return [];
  }
}

function isObject(o: unknown): o is StixObject {
  return typeof o === 'object' && o !== null && typeof (o as StixObject).id === 'string' && typeof (o as StixObject).type === 'string';
}


/** One index per topic, made on first use. */
export class ObjectIndex {
  private readonly topics = new Map<string, TopicObjects>();

  constructor(private readonly store: ItemStore) {}

  async of(topic: string): Promise<TopicObjects> {
    let t = this.topics.get(topic);
    if (!t) {
      t = new TopicObjects(this.store, topic);
      this.topics.set(topic, t);
    }
    await t.sync();
    return t;
  }
}
