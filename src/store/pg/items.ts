// An ItemStore on PostgreSQL (tables item_topics and items, see migrations.ts). Reads are
// synchronous (the interface), so what every stored item of every topic is — seq, id, publisher,
// published — is held in memory: loaded at open, and kept current with this instance's own
// writes, applied only once their transaction has committed (a reader never sees an item that is
// not stored). Payloads are not: each is kept on this instance's disk behind a memory cache
// bounded by store.cache_bytes (local-payloads.ts), as the files store keeps them in its logs.
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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import type { Logger } from '../../log.js';
import { withTransaction } from './pool.js';
import { notifyIn, type ChangeFeed } from './notify.js';
import { LocalPayloadDamaged, LocalPayloads, type PayloadRef } from './local-payloads.js';
import { DEFAULT_CACHE_BYTES, type ItemStore, type ItemStoreOptions, type ItemStoreStats, type NewItem, type StoredItem } from '../types.js';

type OpBody = { k: 'put'; item: NewItem; max: number } | { k: 'trim'; max: number } | { k: 'ret'; id: string } | { k: 'purge' };
type Op =
  | { k: 'put'; item: NewItem; max: number; resolve: (r: StoredItem) => void; reject: (e: unknown) => void }
  | { k: 'trim'; max: number; resolve: (r: number) => void; reject: (e: unknown) => void }
  | { k: 'ret'; id: string; resolve: (r: boolean) => void; reject: (e: unknown) => void }
  | { k: 'purge'; resolve: (r: void) => void; reject: (e: unknown) => void };

interface MetaRow {
  topic: string;
  seq: string;
  id: string;
  publisher: string;
  published: string;
}
interface ItemRow extends MetaRow {
  payload: string;
}

/** A held item: what it is, and where its payload is (the local copy). */
interface Entry {
  readonly seq: number;
  readonly id: string;
  readonly publisher: string;
  readonly published: string;
  ref: PayloadRef;
}

/**
 * Rows read per query at open and when catching up. A page's payloads are in memory at once, so
 * the next page is sized to hold about PAGE_BYTES (at least 1 row, at most MAX_PAGE rows).
 */
const PAGE = 200;
const MAX_PAGE = 2000;
const PAGE_BYTES = 8 * 1024 * 1024;
const nextPage = (rows: { payload: string }[], limit: number): number => {
  const bytes = rows.reduce((n, r) => n + r.payload.length, 0);
  return bytes > 0 ? Math.max(1, Math.min(MAX_PAGE, Math.floor((limit * PAGE_BYTES) / bytes))) : limit;
};
const COLUMNS = 'topic, seq, id, publisher, published, payload';

class Topic {
  /** Ascending seq (insertion order; an overwrite deletes and re-inserts its id). */
  items = new Map<string, Entry>();
  hw = 0;
  /** Every stored item with seq ≤ synced has been read from the database (other instances' writes). */
  synced = 0;
  /** The highest seq ever put in `items` (≥ the last one's: the map's order is seq order). */
  top = 0;
  queue: Op[] = [];
  running: Promise<void> | undefined;
}

/** What one committed op did, applied to the cache after COMMIT. */
type Effect = { put: StoredItem; dropped: string[] } | { dropped: string[] } | { purged: true } | null;

export class PgItemStore implements ItemStore {
  private readonly topics = new Map<string, Topic>();
  private readonly counters = { appends: 0, fsyncs: 0, compactions: 0 };
  private closed = false;
  private readonly log: Logger | undefined;
  private readonly groupCommitMs: number;
  private readonly local: LocalPayloads;
  /** A temporary folder of ours for `local` (no localDir given), removed at close. */
  private readonly ownDir: string | undefined;
  /** Items whose local copy is being read from the database again (damaged on disk). */
  private readonly repairing = new Map<Entry, Promise<void>>();

  private constructor(private readonly db: pg.Pool, opts: ItemStoreOptions, private readonly feed?: ChangeFeed) {
    this.log = opts.log;
    this.groupCommitMs = opts.groupCommitMs ?? 0;
    this.onFsync = opts.onFsync;
    this.ownDir = opts.localDir ? undefined : mkdtempSync(join(tmpdir(), 'grid-item-cache-'));
    this.local = new LocalPayloads(opts.localDir ?? this.ownDir!, {
      cacheBytes: opts.cacheBytes ?? DEFAULT_CACHE_BYTES,
      onWriteError: (e) => this.log?.error({ err: e.message, dir: opts.localDir ?? this.ownDir }, 'the local copy of item payloads cannot be written: payloads are held in memory until restart'),
    });
  }

  private readonly onFsync: ((seconds: number) => void) | undefined;

  /**
   * `feed`: the cluster's change feed (writes notify, appends wait on their fence). Everything
   * is read in one snapshot (a repeatable-read transaction), a page of rows at a time: the
   * payloads go to the local copy as they come, so opening needs no more memory than a page.
   */
  static async open(db: pg.Pool, opts: ItemStoreOptions = {}, feed?: ChangeFeed): Promise<PgItemStore> {
    const s = new PgItemStore(db, opts, feed);
    try {
      const counts = await withTransaction(db, async (c) => {
        await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        const hw = await c.query<{ topic: string; high_seq: string }>('SELECT topic, high_seq FROM item_topics');
        for (const r of hw.rows) {
          const t = s.topic(r.topic);
          t.hw = t.synced = Number(r.high_seq);
        }
        let n = 0;
        let last: [string, string] | undefined;
        for (let limit = PAGE; ;) {
          const page = last
            ? await c.query<ItemRow>(`SELECT ${COLUMNS} FROM items WHERE (topic, seq) > ($1, $2) ORDER BY topic, seq LIMIT ${limit}`, last)
            : await c.query<ItemRow>(`SELECT ${COLUMNS} FROM items ORDER BY topic, seq LIMIT ${limit}`);
          for (const r of page.rows) {
            const t = s.topic(r.topic);
            const e = s.entry(r);
            t.items.set(r.id, e);
            t.top = Math.max(t.top, e.seq);
          }
          n += page.rows.length;
          if (page.rows.length < limit) break;
          const end = page.rows[page.rows.length - 1]!;
          last = [end.topic, end.seq];
          limit = nextPage(page.rows, limit);
        }
        return { topics: hw.rows.length, items: n };
      });
      s.log?.info(counts, 'item store loaded from PostgreSQL');
    } catch (e) {
      s.local.close();
      if (s.ownDir) rmSync(s.ownDir, { recursive: true, force: true });
      throw e;
    }
    return s;
  }

  /** A row read from the database, its payload put in the local copy (not in memory: read when asked). */
  private entry(r: ItemRow): Entry {
    return { seq: Number(r.seq), id: r.id, publisher: r.publisher, published: r.published, ref: this.local.put(r.payload, false) };
  }

  /** What readers get: the payload is read (memory cache, else local disk) when touched. */
  private view(topic: string, e: Entry): StoredItem {
    const v = { seq: e.seq, id: e.id, publisher: e.publisher, published: e.published } as StoredItem;
    Object.defineProperty(v, 'payload', { enumerable: true, get: () => this.payloadOf(topic, e) });
    return Object.freeze(v);
  }

  private payloadOf(topic: string, e: Entry): string {
    try {
      return this.local.read(e.ref);
    } catch (err) {
      if (!(err instanceof LocalPayloadDamaged)) throw new Error(`item ${e.id} (seq ${e.seq}) of ${topic} is no longer stored`);
      this.log?.error({ topic, item: e.id, seq: e.seq, file: err.file, offset: err.offset }, 'the local copy of a payload is damaged: reading it from PostgreSQL again');
      void this.repair(topic, e);
      throw new Error(`item ${e.id} (seq ${e.seq}) of ${topic}: its local copy is damaged and is being read again from PostgreSQL; try again`);
    }
  }

  /** Reads a damaged local copy from the database again (it stays stored there). */
  private repair(topic: string, e: Entry): Promise<void> {
    let p = this.repairing.get(e);
    if (!p) this.repairing.set(e, (p = this.readAgain(topic, e).finally(() => this.repairing.delete(e))));
    return p;
  }

  private async readAgain(topic: string, e: Entry): Promise<void> {
    try {
      const r = await this.db.query<{ payload: string }>('SELECT payload FROM items WHERE topic = $1 AND seq = $2 AND id = $3', [topic, e.seq, e.id]);
      if (this.closed || this.topics.get(topic)?.items.get(e.id) !== e || !r.rows[0]) return;
      this.local.free(e.ref);
      e.ref = this.local.put(r.rows[0].payload);
    } catch (err) {
      this.log?.error({ topic, item: e.id, err: (err as Error).message }, 'a damaged local payload could not be read again from PostgreSQL');
    }
  }

  /** Resolves once the local copy has no work pending (repairs, compaction). */
  async idle(): Promise<void> {
    while (this.repairing.size) await Promise.all(this.repairing.values());
    await this.local.idle();
  }

  /** Forgets `id` in `t` (and its local copy). */
  private drop(t: Topic, id: string): void {
    const e = t.items.get(id);
    if (!e) return;
    t.items.delete(id);
    this.local.free(e.ref);
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
        this.insertSorted(t, put);
        t.hw = Math.max(t.hw, put.seq);
        for (const id of dropped) this.drop(t, id);
        op.resolve(put);
        return;
      }
      case 'trim': {
        const { dropped } = e as { dropped: string[] };
        for (const id of dropped) this.drop(t, id);
        op.resolve(dropped.length);
        return;
      }
      case 'ret': {
        const { dropped } = e as { dropped: string[] };
        for (const id of dropped) this.drop(t, id);
        op.resolve(dropped.length > 0);
        return;
      }
      case 'purge':
        for (const id of [...t.items.keys()]) this.drop(t, id);
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
    for (const e of this.topics.get(topic)?.items.values() ?? []) {
      if (out.length >= limit) break;
      if (e.seq > seq) out.push(this.view(topic, e));
    }
    return out;
  }

  get(topic: string, id: string): StoredItem | undefined {
    const e = this.topics.get(topic)?.items.get(id);
    return e && this.view(topic, e);
  }

  list(topic: string): StoredItem[] {
    return [...(this.topics.get(topic)?.items.values() ?? [])].map((e) => this.view(topic, e));
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

  /**
   * Reads `topic` again (another instance wrote to it) and replaces what is held: what each item
   * is, in one snapshot; the payloads of the items already held (same id and seq: an item never
   * changes) are kept, the others read in pages.
   */
  async refresh(topic: string, waitOwn = true): Promise<void> {
    const t = this.topic(topic);
    // Our own writes first: their effects are then in what we read. The change feed does not
    // wait (an append waits for the feed): an own write applied later is merged by seq.
    if (waitOwn && t.running) await t.running;
    const payloads = new Map<string, PayloadRef>();
    const { high, rows } = await withTransaction(this.db, async (c) => {
      for (const ref of payloads.values()) this.local.free(ref); // (an attempt started again)
      payloads.clear();
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const hw = await c.query<{ high_seq: string }>('SELECT high_seq FROM item_topics WHERE topic = $1', [topic]);
      const meta = await c.query<MetaRow>('SELECT topic, seq, id, publisher, published FROM items WHERE topic = $1 ORDER BY seq', [topic]);
      const missing = meta.rows.filter((r) => t.items.get(r.id)?.seq !== Number(r.seq)).map((r) => r.seq);
      for (let i = 0, limit = PAGE; i < missing.length; ) {
        const page = await c.query<{ seq: string; payload: string }>('SELECT seq, payload FROM items WHERE topic = $1 AND seq = ANY($2::bigint[])', [topic, missing.slice(i, i + limit)]);
        for (const r of page.rows) payloads.set(r.seq, this.local.put(r.payload, false));
        i += limit;
        limit = nextPage(page.rows, limit);
      }
      return { high: Number(hw.rows[0]?.high_seq ?? 0), rows: meta.rows };
    }).catch((e: unknown) => {
      for (const ref of payloads.values()) this.local.free(ref);
      throw e;
    });
    const items = new Map<string, Entry>();
    for (const r of rows) {
      const held = t.items.get(r.id);
      if (held && held.seq === Number(r.seq)) {
        items.set(r.id, held);
        continue;
      }
      const ref = payloads.get(r.seq);
      if (ref) items.set(r.id, { seq: Number(r.seq), id: r.id, publisher: r.publisher, published: r.published, ref });
    }
    for (const [id, e] of t.items) if (items.get(id) !== e) this.local.free(e.ref);
    t.items = items;
    t.top = rows.length ? Number(rows[rows.length - 1]!.seq) : 0;
    t.hw = Math.max(t.hw, high);
    t.synced = Math.max(t.synced, high);
  }

  /**
   * Another instance wrote to `topic` (the change feed): a `put` up to seq `hi` is read as the
   * rows past what this instance has read (in pages) and merged in; anything else reads the
   * topic again.
   */
  async applyRemote(topic: string, k: 'put' | 'reload', hi = 0, max = 0): Promise<void> {
    if (this.closed) return;
    const t = this.topic(topic);
    if (k === 'reload') return this.refresh(topic, false);
    if (hi <= t.synced) return;
    let from = t.synced;
    for (let limit = PAGE; ;) {
      const page = await this.db.query<ItemRow>(`SELECT ${COLUMNS} FROM items WHERE topic = $1 AND seq > $2 ORDER BY seq LIMIT ${limit}`, [topic, from]);
      if (this.closed) return;
      for (const r of page.rows) this.insertSorted(t, r, false);
      if (page.rows.length) from = Number(page.rows[page.rows.length - 1]!.seq);
      if (page.rows.length < limit) break;
      limit = nextPage(page.rows, limit);
    }
    t.synced = Math.max(t.synced, hi, from);
    t.hw = Math.max(t.hw, t.synced);
    if (max >= 1 && t.items.size > max) {
      let extra = t.items.size - max;
      for (const id of [...t.items.keys()]) {
        if (extra-- <= 0) break;
        this.drop(t, id);
      }
    }
  }

  /**
   * Puts an item in the topic's seq-ordered map (replacing any item with its id). Own appends
   * come in order; another instance's interleave with them, and then the map is rebuilt in order.
   */
  private insertSorted(t: Topic, it: MetaRow & { payload: string } | StoredItem, cache = true): void {
    const seq = Number(it.seq);
    const old = t.items.get(it.id);
    if (old && old.seq === seq) return;
    if (t.items.size && t.top >= seq && [...t.items.values()].some((v) => v.seq === seq)) return;
    const e: Entry = { seq, id: it.id, publisher: it.publisher, published: it.published, ref: this.local.put(it.payload, cache) };
    this.drop(t, it.id);
    if (!t.items.size || t.top < seq) {
      t.items.set(it.id, e);
      t.top = seq;
      return;
    }
    const all = [...t.items.values(), e].sort((a, b) => a.seq - b.seq);
    t.items = new Map(all.map((v) => [v.id, v]));
    t.top = Math.max(t.top, seq);
  }

  /** Every topic read again (the change feed reconnected: what changed meanwhile is unknown). */
  async refreshAll(): Promise<void> {
    const hw = await this.db.query<{ topic: string }>('SELECT topic FROM item_topics');
    const names = new Set([...this.topics.keys(), ...hw.rows.map((r) => r.topic)]);
    for (const name of names) await this.refresh(name, false);
  }

  stats(): ItemStoreStats {
    const l = this.local.stats();
    return {
      ...this.counters, openFiles: 0, truncated: [], damage: [],
      cache: { limit: l.limit, bytes: l.bytes, items: l.items, hits: l.hits, misses: l.misses, diskReads: l.diskReads,
        local: { diskBytes: l.diskBytes, liveBytes: l.liveBytes, segments: l.segments, memoryOnlyBytes: l.memoryOnlyBytes, compactions: l.compactions } },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.topics.values()) if (t.running) await t.running;
    await this.idle();
    this.local.close();
    if (this.ownDir) rmSync(this.ownDir, { recursive: true, force: true });
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
