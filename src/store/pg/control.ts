// A ControlStore on PostgreSQL (table control_rows, see migrations.ts). The state is held in
// memory (reads are synchronous, as the interface wants) and loaded at open; an update runs on
// the same change-tracking proxy as the files store (../change-tracker.ts), and its change
// marks rows dirty: a top-level key whose value was replaced, or one entry [k, e] of a map.
// Writes are coalesced like the files store's: the dirty rows of every update made while a
// transaction is in flight go in the one transaction that follows it, each row written with
// its value at that moment (values are absolute, so writing a later value is never wrong), and
// each update resolves once the transaction holding its rows has committed. A batch of map
// entries only (the usual case: subscribes, account changes) is one statement — its own
// transaction — so a batch costs one round trip and one commit. A failed write stores nothing,
// and its change must not be stored later behind the back of the caller it was refused to (a
// subscribe answered with an error must not come to life with the next write, unannounced): the
// store then refuses every change, and the updates queued behind the failed one reject, until
// refreshAll() has read the stored state back over memory (which undoes the refused changes).
// `onWriteFailed` asks for that read (the wiring: the change feed's resync, which also rebuilds
// the indexes built on the state); each refused update asks again, so an outage ends in a read.
//
// Another instance's change (issue 13 item 3, the cluster) reaches this one as the rows it
// changed: refresh(rows) reads them again and patches the state in memory — the unit of
// invalidation is the row, so a NOTIFY carrying (store, path) is all a listener needs.
import type pg from 'pg';
import { ChangeTracker, type Path } from '../change-tracker.js';
import { CoalescingWriter } from '../control.js';
import { withTransaction } from './pool.js';
import { notifyIn } from './notify.js';
import type { ControlSource, ControlStore, ControlStoreOptions } from '../types.js';

/** A write of a PostgreSQL control store failed: changes are refused until the stored state is read back. */
export class PgControlStoreFailedError extends Error {
  constructor(readonly store: string, override readonly cause: unknown) {
    super(`control store ${store}: a write to PostgreSQL failed (${(cause as Error)?.message ?? String(cause)}); ` +
      'changes are refused until the stored state has been read back (automatic once PostgreSQL answers)');
    this.name = 'PgControlStoreFailedError';
  }
}

export interface PgControlStoreOptions extends ControlStoreOptions {
  /** A write failed (and again at each change refused meanwhile): call refreshAll() to recover. */
  onWriteFailed?: () => void;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A row of control_rows: [k] or [k, e]. */
export type RowPath = [string] | [string, string];

interface Row {
  path: string[];
  value: unknown;
}

async function loadRows(db: pg.Pool | pg.PoolClient, store: string): Promise<Row[]> {
  const r = await db.query<Row>('SELECT path, value FROM control_rows WHERE store = $1 ORDER BY ord', [store]);
  return r.rows;
}

function build(rows: readonly Row[]): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  for (const { path, value } of rows) {
    if (path.length === 1) {
      state[path[0]!] = value;
    } else {
      const m = state[path[0]!];
      if (!isMap(m)) throw new Error(`control_rows: entry ${JSON.stringify(path)} has no map row [${JSON.stringify(path[0])}]`);
      m[path[1]!] = value;
    }
  }
  return state;
}

/** The state as stored now, read without a store (tests; tools that must not write). */
export async function readPgControlState<T>(db: pg.Pool, store: string, defaults: T): Promise<T> {
  const rows = await loadRows(db, store);
  return rows.length ? (build(rows) as T) : structuredClone(defaults);
}

export class PgControlStore<T> implements ControlStore<T> {
  private closed = false;
  private readonly writer: CoalescingWriter;
  /** Top-level keys to write whole. */
  private whole = new Set<string>();
  /** Map entries to write: k → entries. */
  private entries = new Map<string, Set<string>>();
  /** Set by a failed write, cleared by refreshAll(): until then every change is refused. */
  private failed: PgControlStoreFailedError | undefined;

  private constructor(private readonly db: pg.Pool, readonly name: string, private state: T, readonly source: ControlSource, private readonly opts: PgControlStoreOptions, private readonly origin?: string) {
    this.writer = new CoalescingWriter(async () => {
      const whole = this.whole;
      const entries = this.entries;
      this.whole = new Set();
      this.entries = new Map();
      // Queued behind a failed write: applied in memory on top of the refused change, so never
      // written; refreshAll() undoes it.
      if (this.failed) throw this.failed;
      try {
        await this.write(whole, entries);
      } catch (e) {
        // Nothing of it was stored. Its rows are not written again with the next change: the
        // change was refused to its caller.
        this.failed = new PgControlStoreFailedError(this.name, e);
        this.opts.log?.error({ err: (e as Error).message, store: this.name }, 'control store write to PostgreSQL failed: refusing changes until the stored state is read back');
        this.opts.onWriteFailed?.();
        throw this.failed;
      }
      this.opts.onWrite?.();
    });
  }

  /** `origin`: this instance's id in the change feed (notify.ts); without it no notifications are sent. */
  static async open<T>(db: pg.Pool, name: string, defaults: T, opts: PgControlStoreOptions = {}, origin?: string): Promise<PgControlStore<T>> {
    const rows = await loadRows(db, name);
    if (rows.length) return new PgControlStore(db, name, build(rows) as T, 'file', opts, origin);
    const s = new PgControlStore(db, name, structuredClone(defaults), 'defaults', opts, origin);
    // Store the defaults, so the store exists (and its keys keep their order) from now on.
    try {
      await s.write(new Set(Object.keys(s.state as object)), new Map());
    } catch (e) {
      // Another instance of a cluster, started at the same moment, stored them first: use its.
      if ((e as { code?: string }).code !== '23505') throw e;
      const again = await loadRows(db, name);
      return new PgControlStore(db, name, build(again) as T, 'file', opts, origin);
    }
    return s;
  }

  get data(): T {
    return this.state;
  }

  update(mutator: (d: T) => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error('control store is closed'));
    if (this.failed) {
      this.opts.onWriteFailed?.();
      return Promise.reject(this.failed);
    }
    const tracker = new ChangeTracker(this.state as T & object);
    let changes;
    try {
      mutator(tracker.root);
      changes = tracker.finish().changes;
    } catch (e) {
      tracker.undo();
      return Promise.reject(e);
    }
    for (const [path] of changes) this.mark(path);
    return this.writer.request();
  }

  private mark(path: Path): void {
    const k = path[0]!;
    if (this.whole.has(k)) return;
    if (path.length === 1 || !isMap((this.state as Record<string, unknown>)[k])) {
      this.whole.add(k);
      this.entries.delete(k);
      return;
    }
    let es = this.entries.get(k);
    if (!es) this.entries.set(k, (es = new Set()));
    es.add(path[1]!);
  }

  /** One transaction: whole keys deleted and rewritten, map entries upserted or deleted. */
  private async write(whole: Set<string>, entries: Map<string, Set<string>>): Promise<void> {
    // Read every value now (synchronously): the rows hold the state as of this moment.
    const s = this.state as Record<string, unknown>;
    const ins: { k: string[]; e: (string | null)[]; v: string[] } = { k: [], e: [], v: [] };
    for (const k of whole) {
      if (!Object.hasOwn(s, k) || s[k] === undefined) continue;
      const v = s[k];
      if (isMap(v)) {
        ins.k.push(k); ins.e.push(null); ins.v.push('{}');
        for (const [e, ev] of Object.entries(v)) {
          if (ev === undefined) continue;
          ins.k.push(k); ins.e.push(e); ins.v.push(JSON.stringify(ev));
        }
      } else {
        ins.k.push(k); ins.e.push(null); ins.v.push(JSON.stringify(v));
      }
    }
    const up: { k: string[]; e: string[]; v: string[] } = { k: [], e: [], v: [] };
    const del: { k: string[]; e: string[] } = { k: [], e: [] };
    for (const [k, es] of entries) {
      const m = s[k] as Record<string, unknown>;
      for (const e of es) {
        const ev = Object.hasOwn(m, e) ? m[e] : undefined;
        if (ev === undefined) { del.k.push(k); del.e.push(e); } else { up.k.push(k); up.e.push(e); up.v.push(JSON.stringify(ev)); }
      }
    }
    if (!whole.size && !up.k.length && !del.k.length) return;
    // The fast path sends no change-feed notification: a cluster member (origin set) takes the
    // transaction below, whose NOTIFY goes out with the commit.
    if (!whole.size && this.origin === undefined) {
      // Map entries only (a subscribe, an account change): one statement, so one round trip and
      // one commit for the whole batch. Its own transaction: all of it or nothing. Run again
      // once on failure (a pooled connection the server closed): rows written with their
      // absolute values, so running it twice is the same as once.
      for (let attempt = 0; ; attempt++) {
        try {
          await this.db.query(
            `WITH del AS (
               DELETE FROM control_rows WHERE store = $1 AND array_length(path, 1) = 2
                 AND (path[1], path[2]) IN (SELECT * FROM unnest($2::text[], $3::text[]))
             )
             INSERT INTO control_rows (store, path, value)
             SELECT $1, ARRAY[u.k, u.e], u.v::json FROM unnest($4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(k, e, v, o) ORDER BY u.o
             ON CONFLICT (store, path) DO UPDATE SET value = EXCLUDED.value`,
            [this.name, del.k, del.e, up.k, up.e, up.v],
          );
          return;
        } catch (e) {
          if (attempt > 0) throw e;
        }
      }
    }
    await withTransaction(this.db, async (c) => {
      if (whole.size) {
        await c.query('DELETE FROM control_rows WHERE store = $1 AND path[1] = ANY($2::text[])', [this.name, [...whole]]);
        if (ins.k.length) {
          await c.query(
            `INSERT INTO control_rows (store, path, value)
             SELECT $1, CASE WHEN u.e IS NULL THEN ARRAY[u.k] ELSE ARRAY[u.k, u.e] END, u.v::json
             FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(k, e, v, o) ORDER BY u.o`,
            [this.name, ins.k, ins.e, ins.v],
          );
        }
      }
      if (del.k.length) {
        await c.query(
          `DELETE FROM control_rows WHERE store = $1 AND array_length(path, 1) = 2
             AND (path[1], path[2]) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
          [this.name, del.k, del.e],
        );
      }
      if (up.k.length) {
        await c.query(
          `INSERT INTO control_rows (store, path, value)
           SELECT $1, ARRAY[u.k, u.e], u.v::json FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(k, e, v, o) ORDER BY u.o
           ON CONFLICT (store, path) DO UPDATE SET value = EXCLUDED.value`,
          [this.name, up.k, up.e, up.v],
        );
      }
      // The cluster's change feed: the rows this transaction wrote, sent when it commits.
      if (this.origin !== undefined) {
        await notifyIn(c, this.origin, { c: 'control', s: this.name, r: [...[...whole].map((k): [string] => [k]), ...up.k.map((k, i): [string, string] => [k, up.e[i]!]), ...del.k.map((k, i): [string, string] => [k, del.e[i]!])] });
      }
    });
  }

  /**
   * Reads `rows` again and puts what is stored in memory (another instance changed them).
   * A row this instance has not yet written keeps its local value (its write is coming).
   */
  async refresh(rows: readonly RowPath[]): Promise<void> {
    const s = this.state as Record<string, unknown>;
    for (const path of rows) {
      const k = path[0];
      if (this.whole.has(k) || (path.length === 2 && this.entries.get(k)?.has(path[1]))) continue;
      if (path.length === 1) {
        const r = await this.db.query<Row>('SELECT path, value FROM control_rows WHERE store = $1 AND path[1] = $2 ORDER BY ord', [this.name, k]);
        const fresh = build(r.rows);
        if (Object.hasOwn(fresh, k)) s[k] = fresh[k];
        else delete s[k];
      } else {
        const r = await this.db.query<{ value: unknown }>('SELECT value FROM control_rows WHERE store = $1 AND path = $2', [this.name, path]);
        const m = s[k];
        if (!isMap(m)) continue;
        if (r.rows.length) m[path[1]] = r.rows[0]!.value;
        else delete m[path[1]];
      }
    }
  }

  /**
   * Reads the whole store again (the change feed reconnected, or a change named no rows).
   * Rows this instance has not yet written keep their local values. After a failed write, every
   * row takes its stored value (the refused changes are undone) and changes are taken again.
   */
  async refreshAll(): Promise<void> {
    if (this.failed) await this.writer.idle(); // the writes queued behind the failure have rejected
    const recovering = this.failed;
    const fresh = build(await loadRows(this.db, this.name));
    if (recovering) {
      this.whole.clear();
      this.entries.clear();
    }
    const s = this.state as Record<string, unknown>;
    for (const k of new Set([...Object.keys(s), ...Object.keys(fresh)])) {
      if (this.whole.has(k)) continue;
      if (!Object.hasOwn(fresh, k)) {
        delete s[k];
        continue;
      }
      const v = fresh[k];
      const dirty = this.entries.get(k);
      const local = s[k];
      if (dirty && isMap(v) && isMap(local)) {
        for (const e of dirty) {
          if (Object.hasOwn(local, e)) v[e] = local[e];
          else delete v[e];
        }
      }
      s[k] = v;
    }
    if (recovering && this.failed === recovering) {
      this.failed = undefined;
      this.opts.log?.info({ store: this.name }, 'control store read back from PostgreSQL after a failed write: taking changes again');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.writer.idle();
  }
}
