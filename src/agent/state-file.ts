// Where a subscriber keeps its place (PROTOCOL §5 Grid-Seq, §7 after_seq): per subscription
// (topic + filter) the last seq handed on and the subid that carried it. Written atomically —
// a temp file, fsync, rename, fsync of the folder — so a crash or kill -9 leaves the old
// state or the new one, never a torn file.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Filter } from './grid-types.js';
import { normaliseFilter } from './filters.js';
import { usageError } from './errors.js';

export interface SubscriptionPlace {
  topic: string;
  filter?: Record<string, string[]>;
  /** The last seq handed on. */
  seq: number;
  /** The subscription that delivered it (removed when a later run subscribes anew). */
  subid?: string;
}

interface StateData {
  version: 1;
  subscriptions: Record<string, SubscriptionPlace>;
}

/** topic + the filter with sorted fields and values: the same subscription in every run. */
export function placeKey(topic: string, filter?: Filter): string {
  const f = filter ? normaliseFilter(filter) : {};
  const canon = Object.keys(f).sort().map((k) => [k, [...new Set(f[k])].sort()]);
  return `${topic}\n${JSON.stringify(canon)}`;
}

function isPlace(v: unknown): v is SubscriptionPlace {
  const p = v as SubscriptionPlace;
  return typeof p === 'object' && p !== null && typeof p.topic === 'string' && Number.isSafeInteger(p.seq) && p.seq >= 0 &&
    (p.subid === undefined || typeof p.subid === 'string');
}

export class StateFile {
  private constructor(readonly path: string, private data: StateData) {}

  /** Reads the file (a missing one is an empty state); a damaged one is refused, naming it. */
  static open(path: string): StateFile {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new StateFile(path, { version: 1, subscriptions: {} });
      throw usageError(`cannot read the state file ${path}: ${(err as Error).message}`);
    }
    let data: StateData;
    try {
      data = JSON.parse(text) as StateData;
    } catch (err) {
      throw usageError(`the state file ${path} is not JSON (${(err as Error).message}); move it away to start afresh`);
    }
    if (data?.version !== 1 || typeof data.subscriptions !== 'object' || data.subscriptions === null ||
        !Object.values(data.subscriptions).every(isPlace)) {
      throw usageError(`the state file ${path} is not a grid-node state file (version 1); move it away to start afresh`);
    }
    return new StateFile(path, data);
  }

  place(topic: string, filter?: Filter): SubscriptionPlace | undefined {
    return this.data.subscriptions[placeKey(topic, filter)];
  }

  /**
   * Stages the new place: the temp file is written and fsynced now; the returned commit
   * renames it into place. Between the two the caller hands the item on, so a kill -9 can
   * only fall into the rename's few microseconds (and then the item comes once more).
   */
  stage(topic: string, filter: Filter | undefined, place: Omit<SubscriptionPlace, 'topic' | 'filter'>): () => void {
    const f = filter ? normaliseFilter(filter) : undefined;
    const next: StateData = { version: 1, subscriptions: { ...this.data.subscriptions,
      [placeKey(topic, filter)]: { topic, ...(f && Object.keys(f).length ? { filter: f } : {}), ...place } } };
    const tmp = join(dirname(this.path), `.${basename(this.path)}.tmp`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(next, null, 1) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return () => {
      renameSync(tmp, this.path);
      this.data = next;
      syncDir(dirname(this.path));
    };
  }

  save(topic: string, filter: Filter | undefined, place: Omit<SubscriptionPlace, 'topic' | 'filter'>): void {
    this.stage(topic, filter, place)();
  }
}

/** The rename is durable only once the folder is fsynced (not needed against kill -9). */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a folder; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
