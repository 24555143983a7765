// Storage vocabulary. The core (accounts, topics, ...) depends on these interfaces only, so a
// second backend can replace the file-based ones and run the same contract suites.
import type { Logger } from '../log.js';

/** A small JSON document (control-plane state: accounts, topics, subscriptions). */
export interface ControlStore<T> {
  /** The current state. Change it only through `update`; read it freshly each time. */
  readonly data: T;
  /** Where the state came from at open: the file, its `.bak` copy, or the defaults. */
  readonly source: ControlSource;
  /**
   * Applies `mutator` to the state (a throwing mutator changes nothing) before returning — the
   * change is visible in `data` at once, and the next update sees it — then resolves once a
   * write covering this change is durable (fsync'd, committed). A store that refuses the change
   * (closed, failed) rejects without calling `mutator`.
   */
  update(mutator: (d: T) => void): Promise<void>;
  /** Waits for pending writes; later updates reject. */
  close(): Promise<void>;
}

export type ControlSource = 'file' | 'backup' | 'defaults';

/**
 * What opening does when the file does not parse (a corrupt byte, an edit gone wrong) while its
 * `.bak` does. `refuse` (the default): throw ControlStoreCorruptError naming both files and how
 * to restore, changing nothing. `backup`: use the `.bak` (one write older), logged at error.
 * Refusing is the safe choice for authorization state: the lost write may be a revocation.
 */
export type ControlOnCorrupt = 'refuse' | 'backup';

export interface ControlStoreOptions {
  /** Receives what a person must see (fallback to `.bak`, corrupt file set aside). */
  log?: Logger;
  /** Counts durable writes; for tests of write coalescing. */
  onWrite?: () => void;
  onCorrupt?: ControlOnCorrupt;
}

/** Raised at open when the file does not parse and the store may not (or cannot) use `.bak`. */
export class ControlStoreCorruptError extends Error {
  constructor(readonly file: string, readonly reason: string, readonly backup?: { path: string; writtenAt: string }) {
    super(
      backup
        ? `control store ${file} is unreadable (${reason}); nothing was changed. Its previous version ${backup.path} ` +
            `(written ${backup.writtenAt}) reads well: restoring it loses the last change made before the damage, so check ` +
            `accounts and subscriptions afterwards. To restore: cp -p ${backup.path} ${file}`
        : `control store ${file} is unreadable (${reason}) and no usable ${file}.bak exists; ` +
            'restore it from a backup or move it away to start with empty state',
    );
    this.name = 'ControlStoreCorruptError';
  }
}

export type LockResult = { release(): void } | { heldBy: number };

/** One item as the publisher gave it. `published` is an ISO 8601 date-time. */
export interface NewItem {
  id: string;
  publisher: string;
  payload: string;
  published: string;
}

/** An item as stored: `seq` is per topic, one more per stored item, never reused. */
export interface StoredItem extends NewItem {
  readonly seq: number;
}

export interface ItemStoreOptions {
  /** Extra wait before a write to gather more appends into one fsync (default 0). */
  groupCommitMs?: number;
  /** Bound on open topic file handles (default 64); idle ones are closed LRU-first. */
  maxOpenFiles?: number;
  /** Compact when dead records exceed `compactFactor` × live ones (default 4)... */
  compactFactor?: number;
  /** ...and at least this many (default 1000), so small topics are not rewritten often. */
  compactMinDead?: number;
  /** Bytes of payloads kept in memory (LRU); the rest are read back from the logs (default 32 MiB). */
  cacheBytes?: number;
  /**
   * PostgreSQL: the folder where this instance keeps its local copy of the payloads it holds
   * (a cache, emptied at open: src/store/pg/local-payloads.ts). Default: a temporary folder.
   */
  localDir?: string;
  log?: Logger;
  /** Told how long each batch's write + fdatasync took, in seconds (the metrics). */
  onFsync?: (seconds: number) => void;
}

export const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024;

/** Stored items lost to damage (a corrupt frame, not a torn write): reported loudly, kept aside. */
export interface ItemDamage {
  topic: string;
  /** Byte offset of the damaged bytes in the log as it was (the copy at `savedTo`). */
  offset: number;
  bytes: number;
  /** Seqs of the items known lost (named by intact frame headers); empty when unknown. */
  seqs: number[];
  reason: string;
  /** Found replaying the log at open, or reading a payload back while running. */
  found: 'open' | 'read';
  /** Where the damaged log was kept for inspection. */
  savedTo?: string;
}

export interface ItemStoreStats {
  appends: number;
  /** fsync/fdatasync calls on topic logs; with group commit fewer than appends. */
  fsyncs: number;
  compactions: number;
  openFiles: number;
  /** Bytes cut from torn log tails (a write a crash interrupted, never acknowledged) at open. */
  truncated: { topic: string; bytes: number }[];
  /** Acknowledged items lost to damage since this process started (optional for other stores). */
  damage?: ItemDamage[];
  /** The payload cache: its bound, what it holds, and the reads that missed it. */
  cache?: {
    limit: number; bytes: number; items: number; hits: number; misses: number; diskReads: number;
    /** PostgreSQL: the local copy of the payloads (bytes on disk, of which held; in memory because the disk refused). */
    local?: { diskBytes: number; liveBytes: number; segments: number; memoryOnlyBytes: number; compactions: number };
  };
}

/**
 * Per-topic item history. Reads are synchronous (an item's `payload` may be read from disk when
 * first touched: touch it only when needed); writes resolve only once durable.
 */
export interface ItemStore {
  /**
   * Stores `item` (replacing one with the same id, which gets a new seq) and trims the topic
   * to its `maxItems` newest. Resolves after fsync.
   */
  append(topic: string, item: NewItem, maxItems: number): Promise<StoredItem>;
  /** The `n` newest items, ascending seq. */
  latest(topic: string, n: number): StoredItem[];
  /** Items with seq > `seq`, ascending, at most `limit`. */
  after(topic: string, seq: number, limit: number): StoredItem[];
  get(topic: string, id: string): StoredItem | undefined;
  /** All stored items, ascending seq. */
  list(topic: string): StoredItem[];
  /** Seq of the oldest stored item, or undefined when the topic holds none. */
  oldestSeq(topic: string): number | undefined;
  /** Highest seq ever assigned in this topic (0 if none). */
  highSeq(topic: string): number;
  /** Trims to the `maxItems` newest (after a configure lowers max_items); returns how many went. */
  trim(topic: string, maxItems: number): Promise<number>;
  retract(topic: string, id: string): Promise<boolean>;
  /**
   * Age-based retention (XEP-0060 pubsub#item_expire): removes the items whose `published` is
   * before `before` (ms since the epoch); returns how many went. Seqs are not given back (the
   * high-water mark stays), and an item published again under the same id meanwhile stays.
   */
  expire(topic: string, before: number): Promise<number>;
  purge(topic: string): Promise<void>;
  /** Removes all items; the seq high-water mark is kept so a same-named topic continues it. */
  deleteTopic(topic: string): Promise<void>;
  stats(): ItemStoreStats;
  close(): Promise<void>;
}
