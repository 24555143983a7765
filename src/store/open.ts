// Which store the controller runs on (`store.kind`): the embedded files store (one instance;
// `<data>/accounts.json`, `topics.json` with their journals, `items/`) or PostgreSQL (shared by
// the instances of a cluster, docs/protocol.md §14). Everything that opens stores goes through
// here, so the choice is made in one place.
import { join } from 'node:path';
import type pg from 'pg';
import type { Logger } from '../log.js';
import { openControlStore } from './control.js';
import { openItemStore } from './items.js';
import { redactUrl } from './pg/redact.js';
import type { ControlOnCorrupt, ControlStore, ControlStoreOptions, ItemStore, ItemStoreOptions } from './types.js';
import type { ChangeFeed } from './pg/notify.js';
import type { PgControlStore } from './pg/control.js';
import type { PgItemStore } from './pg/items.js';
import type { PgChallengeBook } from './pg/challenges.js';
import type { AdvisoryLock } from './pg/pool.js';

export type StoreKind = 'files' | 'postgres';

export interface StoreSettings {
  kind: StoreKind;
  /** postgres://… (kind postgres only). */
  url: string;
  cache_bytes: number;
  control_on_corrupt: ControlOnCorrupt;
  /** Files store: fold the journal into the snapshot past max(this, the snapshot's size). */
  journal_fold_bytes?: number;
}

export interface StoreBackend {
  readonly kind: StoreKind;
  /** A control store by name (`accounts`, `topics`). */
  control<T>(name: string, defaults: T, opts?: ControlStoreOptions): Promise<ControlStore<T>>;
  items(opts?: ItemStoreOptions): Promise<ItemStore>;
  /** Where the named control store lives, for messages (a path, or the database without its password). */
  where(name: string): string;
  /** After the stores it opened are closed. */
  close(): Promise<void>;
  /** PostgreSQL: what the instances of a cluster share beyond the stores (src/cluster/). */
  readonly shared?: SharedStore;
}

/** The pool, the change feed this instance LISTENs on, and the shared registration challenges. */
export interface SharedStore {
  pool: pg.Pool;
  url: string;
  feed: ChangeFeed;
  /** Opened stores, so the cluster wiring can re-read them (by name; `items`). */
  control: Map<string, PgControlStore<unknown>>;
  items(): PgItemStore | undefined;
  challenges(): PgChallengeBook;
  /** Runs `fn` while no other instance holds the same lock (a PostgreSQL advisory lock). */
  exclusive<R>(lock: AdvisoryLock, fn: () => Promise<R>): Promise<R>;
}

export async function openStoreBackend(cfg: { data: string; store: StoreSettings }, log?: Logger): Promise<StoreBackend> {
  const s = cfg.store;
  if (s.kind === 'postgres') {
    if (!s.url) throw new Error('store.url must be set when store.kind is postgres');
    // Loaded only here: a files-store controller never loads the driver.
    const { openPgPool } = await import('./pg/pool.js');
    let pool: pg.Pool;
    try {
      pool = await openPgPool(s.url, log ? { log } : {});
    } catch (e) {
      throw new Error(`PostgreSQL store ${redactUrl(s.url)}: ${(e as Error).message}`);
    }
    // The change feed listens before any store is read: nothing committed after a read is missed.
    const { ChangeFeed, newInstanceId } = await import('./pg/notify.js');
    const feed = new ChangeFeed(s.url, newInstanceId(), log?.child({ mod: 'cluster' }));
    try {
      await feed.start();
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw new Error(`PostgreSQL store ${redactUrl(s.url)}: ${(e as Error).message}`);
    }
    // The payloads this instance holds are kept in its data folder (a cache of the database).
    return pgBackend(pool, s.url, true, feed, { dir: join(cfg.data, 'item-cache'), cacheBytes: s.cache_bytes });
  }
  return {
    kind: 'files',
    control: (name, defaults, opts) =>
      openControlStore(join(cfg.data, `${name}.json`), defaults, { log, onCorrupt: s.control_on_corrupt, ...(s.journal_fold_bytes ? { foldBytes: s.journal_fold_bytes } : {}), ...opts }),
    items: (opts) => openItemStore(join(cfg.data, 'items'), { log, cacheBytes: s.cache_bytes, ...opts }),
    where: (name) => join(cfg.data, `${name}.json`),
    close: async () => undefined,
  };
}

/**
 * A backend on an open pool (tests share one server between stores). `local`: where the item
 * store keeps its local copy of payloads and how much of it stays in memory (default: a
 * temporary folder, 32 MiB).
 */
export async function pgBackend(pool: pg.Pool, url: string, ownsPool = false, feed?: ChangeFeed, local?: { dir: string; cacheBytes: number }): Promise<StoreBackend> {
  const [{ PgControlStore }, { PgItemStore }, { PgChallengeBook }, { withAdvisoryLock }] = await Promise.all([import('./pg/control.js'), import('./pg/items.js'), import('./pg/challenges.js'), import('./pg/pool.js')]);
  const control = new Map<string, PgControlStore<unknown>>();
  let items: PgItemStore | undefined;
  let challenges: PgChallengeBook | undefined;
  return {
    kind: 'postgres',
    control: async <T>(name: string, defaults: T, opts?: ControlStoreOptions) => {
      const st = await PgControlStore.open(pool, name, defaults, { ...opts, ...(feed ? { onWriteFailed: () => feed.requestResync() } : {}) }, feed?.origin);
      control.set(name, st as PgControlStore<unknown>);
      return st;
    },
    items: async (opts) => (items = await PgItemStore.open(pool, { ...(local ? { localDir: local.dir, cacheBytes: local.cacheBytes } : {}), ...opts }, feed)),
    where: (name) => `${redactUrl(url)} (control store ${name})`,
    close: async () => {
      await feed?.stop();
      if (ownsPool) await pool.end();
    },
    ...(feed ? { shared: { pool, url, feed, control, items: () => items, challenges: () => (challenges ??= new PgChallengeBook(pool)),
      exclusive: <R>(lock: AdvisoryLock, fn: () => Promise<R>) => withAdvisoryLock(pool, lock, fn) } } : {}),
  };
}
