// Item store memory and read latency (issue 16.6): RSS after storing N payloads of S bytes,
// RSS in a fresh process after reopening them, and the cost of reading payloads back.
//   node dist/bench/store-memory.js [items=400] [bytes=204800] [cacheBytes=33554432] [files|postgres]
// Each phase runs in its own process, so "after restart" is what a restarted controller holds.
// `postgres` starts a PostgreSQL of its own (as the tests do) and measures the PostgreSQL item
// store, whose payloads live on the instance's disk behind the same bounded cache.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { openItemStore } from '../src/store/items.js';
import type { ItemStore } from '../src/store/types.js';

const TOPIC = 'threat-intel/indicators';
const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
const rss = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return mb(process.memoryUsage().rss);
};
/** Live JS heap + Buffers after a full GC: what is held, as opposed to what the allocator keeps. */
const held = () => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return mb(m.heapUsed + m.external);
};

function payload(i: number, bytes: number): string {
  const head = JSON.stringify({ type: 'indicator', spec_version: '2.1', id: `indicator--${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`, description: '' });
  return head.slice(0, -2) + `${i}-`.padEnd(bytes - head.length, 'x') + '"}';
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 1000) / 1000;
}

/** The store under test; `close` also ends the pool (PostgreSQL). */
async function openStore(kind: string, dir: string, cacheBytes: number): Promise<{ s: ItemStore; close: () => Promise<void> }> {
  if (kind !== 'postgres') {
    const s = await openItemStore(dir, { cacheBytes });
    return { s, close: () => s.close() };
  }
  const [{ openPgPool }, { PgItemStore }] = await Promise.all([import('../src/store/pg/pool.js'), import('../src/store/pg/items.js')]);
  const pool = await openPgPool(process.env.STORE_MEMORY_PG_URL!);
  const s = await PgItemStore.open(pool, { cacheBytes, localDir: join(dir, 'item-cache') });
  return { s, close: async () => {
    await s.close();
    await pool.end();
  } };
}

async function phase(mode: string, dir: string, items: number, bytes: number, cacheBytes: number, kind: string): Promise<void> {
  const base = rss();
  const { s, close } = await openStore(kind, dir, cacheBytes);
  const out: Record<string, unknown> = { store: kind, mode, base_rss_mb: base };
  if (mode === 'write') {
    const t0 = performance.now();
    const lat: number[] = [];
    for (let i = 0; i < items; i++) {
      const t = performance.now();
      await s.append(TOPIC, { id: `i${i}`, publisher: 'p@grid.test/x', payload: payload(i, bytes), published: new Date().toISOString() }, 1000);
      lat.push(performance.now() - t);
    }
    out.append_ms_p50 = pct(lat, 50);
    out.append_ms_p99 = pct(lat, 99);
    out.write_s = Math.round(performance.now() - t0) / 1000;
  }
  out.rss_mb = rss();
  out.held_mb = held();
  // Reads: every payload once (mostly misses when the cache is smaller than the history), then
  // the newest 100 again (hits), as a query page or items request would.
  const all = s.list(TOPIC);
  const cold: number[] = [];
  for (const it of all) {
    const t = performance.now();
    if (it.payload.length !== bytes) throw new Error(`payload ${it.id} has ${it.payload.length} bytes`);
    cold.push(performance.now() - t);
  }
  const warm: number[] = [];
  for (const it of s.after(TOPIC, items - 100, 100)) {
    const t = performance.now();
    void it.payload.length;
    warm.push(performance.now() - t);
  }
  out.read_all_ms_p50 = pct(cold, 50);
  out.read_all_ms_p99 = pct(cold, 99);
  out.read_newest_ms_p50 = pct(warm, 50);
  out.rss_after_reads_mb = rss();
  out.held_after_reads_mb = held();
  // V8 and the allocator give freed pages back lazily: the same after a few idle seconds.
  await new Promise((r) => setTimeout(r, 3000));
  out.rss_idle_mb = rss();
  out.cache = s.stats().cache;
  await close();
  process.stdout.write(JSON.stringify(out) + '\n');
}

const [a, b, c, d, e, f] = process.argv.slice(2);
if (a === 'write' || a === 'read') {
  await phase(a, b!, Number(c), Number(d), Number(e), f ?? 'files');
} else {
  const items = Number(a ?? 400);
  const bytes = Number(b ?? 204800);
  const cacheBytes = Number(c ?? 32 * 1024 * 1024);
  const kind = d ?? 'files';
  if (kind !== 'files' && kind !== 'postgres') throw new Error(`store must be files or postgres, not ${kind}`);
  const dir = mkdtempSync(join(tmpdir(), 'store-mem-'));
  const pgs = kind === 'postgres' ? await (await import('../src/devgrid/postgres.js')).startPostgres() : undefined;
  try {
    for (const mode of ['write', 'read']) {
      const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), mode, dir, String(items), String(bytes), String(cacheBytes), kind],
        { encoding: 'utf8', env: { ...process.env, ...(pgs ? { STORE_MEMORY_PG_URL: pgs.url } : {}) } });
      process.stdout.write(r.stdout + r.stderr);
    }
  } finally {
    await pgs?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
