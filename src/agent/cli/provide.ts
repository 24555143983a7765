// `grid-node provide TOPIC --watch DIR`: publishes each file that appears in DIR, then moves it
// to DIR/.published/ or, with a NAME.error.txt beside it, to DIR/.failed/. Writers should
// write elsewhere (or to a dot-file) and rename into DIR, so no half-written file is read.
import { mkdirSync, readdirSync, renameSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { GridClient } from '../client.js';
import { readInput, unitsOf } from './publish.js';
import { info } from './output.js';

export interface Provider {
  /** Files handled so far. */
  readonly counts: { published: number; failed: number };
  /** Resolves when the queue is empty (for tests and shutdown). */
  idle(): Promise<void>;
  stop(): void;
}

function moveTo(dir: string, sub: string, name: string): string {
  mkdirSync(join(dir, sub), { recursive: true });
  const target = join(dir, sub, name);
  renameSync(join(dir, name), target);
  return target;
}

/** Names that writers use while a file is not complete yet (renamed into place when done). */
const IN_PROGRESS = /(\.tmp|\.part|\.partial|~)$/;
const SETTLE_MS = 200;
const SETTLE_MAX_MS = 30_000;

/** True once the file's size and mtime held still for SETTLE_MS (and it is not empty). */
async function settled(path: string): Promise<boolean> {
  const started = Date.now();
  let prev = statSync(path);
  while (Date.now() - started < SETTLE_MAX_MS) {
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const cur = statSync(path);
    if (cur.size === prev.size && cur.mtimeMs === prev.mtimeMs && cur.size > 0) return true;
    prev = cur;
  }
  return prev.size > 0;
}

export function provide(client: GridClient, topic: string, dir: string, o: { split: boolean }): Provider {
  const counts = { published: 0, failed: 0 };
  const pending = new Set<string>();
  let chain: Promise<void> = Promise.resolve();
  let watcher: FSWatcher | undefined;

  async function handle(name: string): Promise<void> {
    const path = join(dir, name);
    try {
      if (!statSync(path).isFile()) return;
      // A writer that does not rename into place may still be writing: wait until the file
      // stops changing, so half a file is never published as an invalid item.
      if (!(await settled(path))) return;
    } catch {
      return; // gone already (moved by us, or by the writer)
    }
    try {
      for (const u of unitsOf(readInput(path), name, o.split)) await client.publish(topic, u.payload, u.id ? { id: u.id } : {});
      moveTo(dir, '.published', name);
      counts.published++;
      info(`published ${name} to ${topic}`);
    } catch (err) {
      const message = (err as Error).message;
      moveTo(dir, '.failed', name);
      writeFileSync(join(dir, '.failed', `${name}.error.txt`), message + '\n');
      counts.failed++;
      info(`${name} failed: ${message}`);
    }
  }

  function enqueue(name: string | null): void {
    if (!name || name.startsWith('.') || IN_PROGRESS.test(name) || pending.has(name)) return;
    pending.add(name);
    // One file at a time, in arrival order: the grid sees items in the order they came.
    chain = chain.then(() => handle(name)).finally(() => pending.delete(name));
  }

  mkdirSync(dir, { recursive: true });
  watcher = watch(dir, (_event, name) => enqueue(name ? String(name) : null));
  for (const name of readdirSync(dir).sort()) enqueue(name);
  return {
    counts,
    idle: async () => { while (pending.size) await chain; },
    stop: () => { watcher?.close(); watcher = undefined; },
  };
}
