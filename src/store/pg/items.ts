// An ItemStore on PostgreSQL (tables item_topics and items, see migrations.ts). Reads are
// synchronous (the interface), so every stored item of every topic is held in memory: loaded at
// open, and kept current with this instance's own writes, applied only once their transaction
// has committed (a reader never sees an item that is not stored). Payloads are in memory too:
// memory grows with what is stored (max_items × topics), unlike the files store's bounded cache.
//
// Writes to one topic go through a queue: whatever queued up while the previous transaction was
// in flight is written next in one transaction (group commit: one commit for many appends).
// A seq is taken by `UPDATE item_topics SET high_seq = high_seq + 1 … RETURNING`, inside the
// transaction that stores the item: the row lock makes instances appending to the same topic
// take turns, a rollback gives the number back, so seqs have no gaps and no repeats across
// instances. A failed transaction (PostgreSQL down) rejects every write in it: nothing was
// acknowledged, nothing changes in memory.
//
// Another instance's writes (the cluster, docs/protocol.md §14) reach this one through the change
// feed (notify.ts): each write transaction notifies its topic, and applyRemote() reads what is
// new (a `put`: the rows past what this instance has read, merged in seq order) or the whole
// topic again (a retract, trim or purge). An append is acknowledged only once the feed has
// brought back its own notification (a fence): every change committed before the item — a
// subscription made on another instance — has then been applied here, so the deliveries the
// publish plans include it.
import type pg from 'pg';
import type { Logger } from '../../log.js';
import { withTransaction } from './pool.js';
import { notifyIn, type ChangeFeed } from './notify.js';
import type { ItemStore, ItemStoreOptions, ItemStoreStats, NewItem, StoredItem } from '../types.js';

type OpBody = { k: 'put'; item: NewItem; max: number } | { k: 'trim'; max: number } | { k: 'ret'; id: string } | { k: 'purge' };
type Op =
  | { k: 'put'; item: NewItem; max: number; resolve: (r: StoredItem) => void; reject: (e: unknown) => void }
  | { k: 'trim'; max: number; resolve: (r: number) => void; reject: (e: unknown) => void }
  | { k: 'ret'; id: string; resolve: (r: boolean) => void; reject: (e: unknown) => void }
  | { k: 'purge'; resolve: (r: void) => void; reject: (e: unknown) => void };

interface ItemRow {
  topic: string;
  seq: string;
  id: string;
  publisher: string;
  published: string;
  payload: string;
}

class Topic {
  /** Ascending seq (insertion order; an overwrite deletes and re-inserts its id). */
  items = new Map<string, StoredItem>();
  hw = 0;
  /** Every stored item with seq ≤ synced has been read from the database (other instances' writes). */
  synced = 0;
  /** The highest seq ever put in `items` (≥ the last one's: the map's order is seq order). */
  top = 0;
  queue: Op[] = [];
  running: Promise<void> | undefined;
}

const toItem = (r: ItemRow): StoredItem => ({ seq: Number(r.seq), id: r.id, publisher: r.publisher, payload: r.payload, published: r.published });

/** What one committed op did, applied to the cache after COMMIT. */
type Effect = { put: StoredItem; dropped: string[] } | { dropped: string[] } | { purged: true } | null;

export class PgItemStore implements ItemStore {
  private readonly topics = new Map<string, Topic>();
  private readonly counters = { appends: 0, fsyncs: 0, compactions: 0 };
  private closed = false;
  private readonly log: Logger | undefined;
  private readonly groupCommitMs: number;

  private constructor(private readonly db: pg.Pool, opts: ItemStoreOptions, private readonly feed?: ChangeFeed) {
    this.log = opts.log;
    this.groupCommitMs = opts.groupCommitMs ?? 0;
    this.onFsync = opts.onFsync;
  }

  private readonly onFsync: ((seconds: number) => void) | undefined;

  /** `feed`: the cluster's change feed (writes notify, appends wait on their fence). */
  static async open(db: pg.Pool, opts: ItemStoreOptions = {}, feed?: ChangeFeed): Promise<PgItemStore> {
    const s = new PgItemStore(db, opts, feed);
    const hw = await db.query<{ topic: string; high_seq: string }>('SELECT topic, high_seq FROM item_topics');
    for (const r of hw.rows) {
      const t = s.topic(r.topic);
      t.hw = t.synced = Number(r.high_seq);
    }
    const rows = await db.query<ItemRow>('SELECT topic, seq, id, publisher, published, payload FROM items ORDER BY topic, seq');
    for (const r of rows.rows) {
      const t = s.topic(r.topic);
      t.items.set(r.id, toItem(r));
      t.top = Math.max(t.top, Number(r.seq));
    }
    s.log?.info({ topics: hw.rows.length, items: rows.rows.length }, 'item store loaded from PostgreSQL');
    return s;
  }

  private topic(name: string): Topic {
    let t = this.topics.get(name);
    if (!t) this.topics.set(name, (t = new Topic()));
    return t;
  }

  private submit<R>(name: string, op: OpBody): Promise<R> {
    if (this.closed) return Promise.reject(new Error('item store is closed'));
    const t = this.topic(name);
    return new Promise<R>((resolve, reject) => {
      t.queue.push({ ...op, resolve, reject } as unknown as Op);
      if (!t.running) t.running = this.drain(name, t);
    });
  }

  private async drain(name: string, t: Topic): Promise<void> {
    try {
      while (t.queue.length) {
        if (this.groupCommitMs > 0) await new Promise((r) => setTimeout(r, this.groupCommitMs));
        const batch = t.queue.splice(0);
        const started = process.hrtime.bigint();
        let effects: Effect[];
        const token = this.feed?.fenceToken();
        try {
          effects = await this.transaction(name, batch, token);
        } catch (e) {
          if (token !== undefined) this.feed?.cancel(token);
          for (const op of batch) op.reject(e);
          continue;
        }
        // Stored. Before anyone is told: the changes other instances committed first are applied here.
        if (this.feed && token !== undefined) await this.feed.wait(token);
        this.counters.fsyncs++;
        this.onFsync?.(Number(process.hrtime.bigint() - started) / 1e9);
        for (let i = 0; i < batch.length; i++) this.apply(t, batch[i]!, effects[i]!);
      }
    } finally {
      t.running = undefined;
    }
  }

  private transaction(topic: string, batch: Op[], token?: number): Promise<Effect[]> {
    return withTransaction(this.db, async (c) => {
      const out: Effect[] = [];
      for (const op of batch) out.push(await this.run(c, topic, op));
      if (this.feed) {
        const puts = out.filter((e): e is { put: StoredItem; dropped: string[] } => e !== null && 'put' in e);
        const onlyPuts = puts.length === batch.length;
        const last = batch[batch.length - 1]!;
        await notifyIn(c, this.feed.origin, {
          c: 'items', t: topic, k: onlyPuts ? 'put' : 'reload',
          ...(onlyPuts ? { hi: Math.max(...puts.map((p) => p.put.seq)), max: last.k === 'put' ? last.max : 0 } : {}),
          ...(token !== undefined ? { f: token } : {}),
        });
      }
      return out;
    });
  }

  private async run(c: pg.PoolClient, topic: string, op: Op): Promise<Effect> {
    switch (op.k) {
      case 'put': {
        const r = await c.query<{ high_seq: string }>(
          `INSERT INTO item_topics AS t (topic, high_seq) VALUES ($1, 1)
           ON CONFLICT (topic) DO UPDATE SET high_seq = t.high_seq + 1 RETURNING high_seq`, [topic]);
        const seq = Number(r.rows[0]!.high_seq);
        await c.query('DELETE FROM items WHERE topic = $1 AND id = $2', [topic, op.item.id]);
        await c.query('INSERT INTO items (topic, seq, id, publisher, published, payload) VALUES ($1, $2, $3, $4, $5, $6)',
          [topic, seq, op.item.id, op.item.publisher, op.item.published, op.item.payload]);
        const dropped = await this.trimTo(c, topic, op.max);
        return { put: { seq, id: op.item.id, publisher: op.item.publisher, payload: op.item.payload, published: op.item.published }, dropped };
      }
      case 'trim':
        return { dropped: await this.trimTo(c, topic, op.max) };
      case 'ret': {
        const r = await c.query<{ id: string }>('DELETE FROM items WHERE topic = $1 AND id = $2 RETURNING id', [topic, op.id]);
        return { dropped: r.rows.map((x) => x.id) };
      }
      case 'purge':
        await c.query('DELETE FROM items WHERE topic = $1', [topic]);
        return { purged: true };
    }
  }

  /** Deletes all but the `max` newest items of the topic; returns the ids deleted. */
  private async trimTo(c: pg.PoolClient, topic: string, max: number): Promise<string[]> {
    if (!Number.isSafeInteger(Math.floor(max)) || max < 1) return [];
    const r = await c.query<{ id: string }>(
      `DELETE FROM items WHERE topic = $1 AND seq <= (
         SELECT seq FROM items WHERE topic = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1) RETURNING id`, [topic, Math.floor(max)]);
    return r.rows.map((x) => x.id);
  }

  private apply(t: Topic, op: Op, e: Effect): void {
    switch (op.k) {
      case 'put': {
        const { put, dropped } = e as { put: StoredItem; dropped: string[] };
        insertSorted(t, put);
        t.hw = Math.max(t.hw, put.seq);
        for (const id of dropped) t.items.delete(id);
        op.resolve(put);
        return;
      }
      case 'trim': {
        const { dropped } = e as { dropped: string[] };
        for (const id of dropped) t.items.delete(id);
        op.resolve(dropped.length);
        return;
      }
      case 'ret': {
        const { dropped } = e as { dropped: string[] };
        for (const id of dropped) t.items.delete(id);
        op.resolve(dropped.length > 0);
        return;
      }
      case 'purge':
        t.items.clear();
        op.resolve();
    }
  }

  append(topic: string, item: NewItem, maxItems: number): Promise<StoredItem> {
    if (this.closed) return Promise.reject(new Error('item store is closed'));
    if (!(maxItems >= 1)) return Promise.reject(new RangeError(`maxItems must be at least 1, got ${maxItems}`));
    this.counters.appends++;
    return this.submit(topic, { k: 'put', item: { id: item.id, publisher: item.publisher, payload: item.payload, published: item.published }, max: maxItems });
  }

  latest(topic: string, n: number): StoredItem[] {
    return n > 0 ? this.list(topic).slice(-n) : [];
  }

  after(topic: string, seq: number, limit: number): StoredItem[] {
    const out: StoredItem[] = [];
    for (const it of this.topics.get(topic)?.items.values() ?? []) {
      if (out.length >= limit) break;
      if (it.seq > seq) out.push(it);
    }
    return out;
  }

  get(topic: string, id: string): StoredItem | undefined {
    return this.topics.get(topic)?.items.get(id);
  }

  list(topic: string): StoredItem[] {
    return [...(this.topics.get(topic)?.items.values() ?? [])];
  }

  oldestSeq(topic: string): number | undefined {
    for (const it of this.topics.get(topic)?.items.values() ?? []) return it.seq;
    return undefined;
  }

  highSeq(topic: string): number {
    return this.topics.get(topic)?.hw ?? 0;
  }

  async trim(topic: string, maxItems: number): Promise<number> {
    if (this.closed) throw new Error('item store is closed');
    const t = this.topics.get(topic);
    if (!t || !(maxItems >= 1) || (t.items.size <= maxItems && !t.queue.length)) return 0;
    return this.submit(topic, { k: 'trim', max: maxItems });
  }

  async retract(topic: string, id: string): Promise<boolean> {
    if (this.closed) throw new Error('item store is closed');
    const t = this.topics.get(topic);
    if (!t || (!t.items.has(id) && !t.queue.some((o) => o.k === 'put' && o.item.id === id))) return false;
    return this.submit(topic, { k: 'ret', id });
  }

  async purge(topic: string): Promise<void> {
    if (this.closed) throw new Error('item store is closed');
    if (this.topics.has(topic)) await this.submit(topic, { k: 'purge' });
  }

  async deleteTopic(topic: string): Promise<void> {
    // The item_topics row (and its high_seq) stays: a same-named topic continues the seq.
    await this.purge(topic);
  }

  /** Reads `topic` again (another instance wrote to it) and replaces its cache. */
  async refresh(topic: string, waitOwn = true): Promise<void> {
    const t = this.topic(topic);
    // Our own writes first: their effects are then in what we read. The change feed does not
    // wait (an append waits for the feed): an own write applied later is merged by seq.
    if (waitOwn && t.running) await t.running;
    const hw = await this.db.query<{ high_seq: string }>('SELECT high_seq FROM item_topics WHERE topic = $1', [topic]);
    const rows = await this.db.query<ItemRow>('SELECT topic, seq, id, publisher, published, payload FROM items WHERE topic = $1 ORDER BY seq', [topic]);
    const items = new Map<string, StoredItem>();
    for (const r of rows.rows) items.set(r.id, toItem(r));
    t.items = items;
    t.top = rows.rows.length ? Number(rows.rows[rows.rows.length - 1]!.seq) : 0;
    const high = Number(hw.rows[0]?.high_seq ?? 0);
    t.hw = Math.max(t.hw, high);
    t.synced = Math.max(t.synced, high);
  }

  /**
   * Another instance wrote to `topic` (the change feed): a `put` up to seq `hi` is read as the
   * rows past what this instance has read and merged in; anything else reads the topic again.
   */
  async applyRemote(topic: string, k: 'put' | 'reload', hi = 0, max = 0): Promise<void> {
    if (this.closed) return;
    const t = this.topic(topic);
    if (k === 'reload') return this.refresh(topic, false);
    if (hi <= t.synced) return;
    const from = t.synced;
    const rows = await this.db.query<ItemRow>('SELECT topic, seq, id, publisher, published, payload FROM items WHERE topic = $1 AND seq > $2 ORDER BY seq', [topic, from]);
    for (const r of rows.rows) insertSorted(t, toItem(r));
    const top = rows.rows.length ? Number(rows.rows[rows.rows.length - 1]!.seq) : 0;
    t.synced = Math.max(t.synced, hi, top);
    t.hw = Math.max(t.hw, t.synced);
    if (max >= 1 && t.items.size > max) {
      let extra = t.items.size - max;
      for (const id of t.items.keys()) {
        if (extra-- <= 0) break;
        t.items.delete(id);
      }
    }
  }

  /** Every topic read again (the change feed reconnected: what changed meanwhile is unknown). */
  async refreshAll(): Promise<void> {
    const hw = await this.db.query<{ topic: string }>('SELECT topic FROM item_topics');
    const names = new Set([...this.topics.keys(), ...hw.rows.map((r) => r.topic)]);
    for (const name of names) await this.refresh(name, false);
  }

  stats(): ItemStoreStats {
    return { ...this.counters, openFiles: 0, truncated: [], damage: [] };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.topics.values()) if (t.running) await t.running;
  }

  /**
   * ItemStore.expire (pubsub#item_expire), built on list() and retract() only so that it holds
   * whatever the queue and the transactions become. The retracts, submitted in one tick, share
   * one transaction (group commit). Unlike the files store it cannot see a newer version of the
   * same id that is queued but not committed: that one would go too (a re-publish of an expired
   * id within the same few milliseconds as the sweep).
   */
  async expire(topic: string, before: number): Promise<number> {
    if (this.closed) throw new Error('item store is closed');
    const old = this.list(topic).filter((it) => Date.parse(it.published) < before);
    const done = await Promise.all(old.map((it) => this.retract(topic, it.id)));
    return done.filter(Boolean).length;
  }
}

/**
 * Puts `it` in the topic's seq-ordered map (replacing any item with its id). Own appends come
 * in order; another instance's interleave with them, and then the map is rebuilt in order.
 */
function insertSorted(t: Topic, it: StoredItem): void {
  const old = t.items.get(it.id);
  if (old && old.seq === it.seq) return;
  t.items.delete(it.id);
  if (!t.items.size || t.top < it.seq) {
    t.items.set(it.id, it);
    t.top = it.seq;
    return;
  }
  if ([...t.items.values()].some((v) => v.seq === it.seq)) return;
  const all = [...t.items.values(), it].sort((a, b) => a.seq - b.seq);
  t.items = new Map(all.map((v) => [v.id, v]));
  t.top = Math.max(t.top, it.seq);
}
