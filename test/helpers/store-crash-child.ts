// A child process for the crash tests: writes through the stores in a loop and prints one
// line per acknowledged write, so the parent can SIGKILL it mid-run and then check that
// every acknowledged write survived. Writes to a pipe are synchronous on Linux, so a line
// printed is a line the parent will read even if we are killed right after.
//   node store-crash-child.js items|control|control-map|lock <dir>
import { join } from 'node:path';
import { openItemStore } from '../../src/store/items.js';
import { openControlStore } from '../../src/store/control.js';
import { acquireLock } from '../../src/store/lock.js';
import pg from 'pg';
import { PgItemStore } from '../../src/store/pg/items.js';
import { PgControlStore } from '../../src/store/pg/control.js';
import type { ControlStore, ItemStore } from '../../src/store/types.js';

const [mode, dir] = process.argv.slice(2);
const WORKERS = 8;

function say(line: string): void {
  process.stdout.write(line + '\n');
}

async function items(): Promise<void> {
  // Small compaction thresholds so kills also land inside compactions of topic B.
  await itemLoop(await openItemStore(dir!, { compactMinDead: 20, compactFactor: 1 }));
}

function pgPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: dir!, max: WORKERS });
  pool.on('error', () => undefined);
  return pool;
}

async function itemLoop(store: ItemStore): Promise<void> {
  let n = 0;
  const worker = async (): Promise<never> => {
    for (;;) {
      const i = n++;
      const a = await store.append('crash/A', { id: `a-${process.pid}-${i}`, publisher: 'p', payload: `<x n="${i}"/>`, published: new Date().toISOString() }, 1e9);
      say(`A ${a.seq} ${a.id}`);
      const b = await store.append('crash/B', { id: `b-${i % 5}`, publisher: 'p', payload: 'y'.repeat(i % 300), published: new Date().toISOString() }, 5);
      say(`B ${b.seq} ${b.id}`);
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
}

async function control(): Promise<void> {
  const store = await openControlStore(join(dir!, 'state.json'), { n: 0, recent: [] as number[] });
  let n = store.data.n;
  const worker = async (): Promise<never> => {
    for (;;) {
      const i = ++n;
      await store.update((d) => {
        d.n = Math.max(d.n, i);
        d.recent.push(i);
        if (d.recent.length > 5000) d.recent.shift(); // a file of some size: a wider window for a torn write
      });
      say(`C ${i}`);
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
}

/** Many small changes (a map of keys, some deleted): every acknowledged key must survive. */
async function controlMap(): Promise<void> {
  await controlMapLoop(await openControlStore(join(dir!, 'map.json'), { keys: {} as Record<string, { by: number; i: number }> }, { foldBytes: 64 * 1024 }));
}

async function controlMapLoop(store: ControlStore<{ keys: Record<string, { by: number; i: number }> }>): Promise<void> {
  let n = 0;
  const worker = async (): Promise<never> => {
    for (;;) {
      const i = n++;
      const k = `k-${process.pid}-${i}`;
      await store.update((d) => {
        d.keys[k] = { by: process.pid, i };
        if (i % 10 === 9) delete d.keys[`k-${process.pid}-${i - 9}`];
      });
      say(`M ${k} ${i % 10 === 9 ? `k-${process.pid}-${i - 9}` : '-'}`);
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
}

function lock(): void {
  const r = acquireLock(dir!);
  say(JSON.stringify('heldBy' in r ? { heldBy: r.heldBy } : { locked: process.pid }));
  setInterval(() => undefined, 60_000); // stay alive, holding the lock, until killed
}

if (mode === 'items') await items();
else if (mode === 'control') await control();
else if (mode === 'control-map') await controlMap();
else if (mode === 'pg-items') await itemLoop(await PgItemStore.open(pgPool()));
else if (mode === 'pg-control-map') await controlMapLoop(await PgControlStore.open(pgPool(), 'map', { keys: {} as Record<string, { by: number; i: number }> }));
else if (mode === 'lock') lock();
else {
  process.stderr.write(`usage: store-crash-child items|control|control-map|lock <dir>\n`);
  process.exit(2);
}
