// Item store benchmark: durable (fsync'd) appends per second for one topic with concurrent
// publishers, and whether the cost of a publish grows with the topic's history.
//   node dist/bench/store.js [--history 50000] [--appends 1000] [--publishers 10]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openItemStore } from '../src/store/items.js';
import type { ItemStore } from '../src/store/types.js';

export interface StoreBenchOptions {
  publishers?: number;
  /** Appends per measured run. */
  appends?: number;
  /** Items published between the two measured runs. */
  history?: number;
  /** max_items of the topic in the history runs; `Infinity` keeps everything. */
  maxItemsList?: number[];
  payloadBytes?: number;
  /** Measured runs per figure; the median is reported. */
  repeats?: number;
}

export interface StoreBenchRun {
  maxItems: number | 'unbounded';
  /** Time and rate of `appends` appends on an empty topic... */
  freshMs: number;
  freshPerSec: number;
  /** ...and after `history` more items were published to it. */
  afterHistoryMs: number;
  afterHistoryPerSec: number;
  /** afterHistoryMs / freshMs: about 1 when the cost does not grow with history. */
  ratio: number;
  fsyncsPerAppend: number;
}

export interface StoreBenchResult {
  publishers: number;
  appends: number;
  history: number;
  payloadBytes: number;
  runs: StoreBenchRun[];
}

/** `total` appends to `topic` by `publishers` concurrent publishers; returns elapsed ms. */
async function publish(store: ItemStore, topic: string, total: number, publishers: number, maxItems: number, payload: string): Promise<number> {
  let next = 0;
  const start = performance.now();
  const publisher = async (p: number): Promise<void> => {
    while (next < total) {
      const i = next++;
      await store.append(topic, { id: `p${p}-${i}`, publisher: `pub${p}@grid.test`, payload, published: new Date().toISOString() }, maxItems);
    }
  };
  await Promise.all(Array.from({ length: publishers }, (_, p) => publisher(p)));
  return performance.now() - start;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function runOne(o: Required<StoreBenchOptions>, maxItems: number): Promise<StoreBenchRun> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-store-'));
  const payload = `<indicator xmlns="urn:bench">${'x'.repeat(o.payloadBytes)}</indicator>`;
  const store = await openItemStore(dir);
  try {
    await publish(store, 'bench/warm-up', o.appends, o.publishers, maxItems, payload); // JIT, caches
    // A shared disk is noisy: take the median of several runs, each on a fresh topic...
    const f0 = store.stats().fsyncs;
    const fresh: number[] = [];
    for (let r = 0; r < o.repeats; r++) fresh.push(await publish(store, `bench/fresh-${r}`, o.appends, o.publishers, maxItems, payload));
    const fsyncs = (store.stats().fsyncs - f0) / o.repeats;
    // ...and of as many consecutive runs once the history is there (filled fast, not measured).
    await publish(store, 'bench/t', o.history, 200, maxItems, payload);
    const later: number[] = [];
    for (let r = 0; r < o.repeats; r++) later.push(await publish(store, 'bench/t', o.appends, o.publishers, maxItems, payload));
    const freshMs = median(fresh);
    const afterHistoryMs = median(later);
    const rate = (ms: number): number => Math.round((o.appends / ms) * 1000);
    return {
      maxItems: Number.isFinite(maxItems) ? maxItems : 'unbounded',
      freshMs: Math.round(freshMs),
      freshPerSec: rate(freshMs),
      afterHistoryMs: Math.round(afterHistoryMs),
      afterHistoryPerSec: rate(afterHistoryMs),
      ratio: Number((afterHistoryMs / freshMs).toFixed(2)),
      fsyncsPerAppend: Number((fsyncs / o.appends).toFixed(3)),
    };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchStore(opts: StoreBenchOptions = {}): Promise<StoreBenchResult> {
  const o: Required<StoreBenchOptions> = {
    publishers: opts.publishers ?? 10,
    appends: opts.appends ?? 1000,
    history: opts.history ?? 50_000,
    maxItemsList: opts.maxItemsList ?? [1000, Infinity],
    payloadBytes: opts.payloadBytes ?? 512,
    repeats: opts.repeats ?? 5,
  };
  const runs: StoreBenchRun[] = [];
  for (const maxItems of o.maxItemsList) runs.push(await runOne(o, maxItems));
  return { publishers: o.publishers, appends: o.appends, history: o.history, payloadBytes: o.payloadBytes, runs };
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchStore({ history: arg('history', 50_000), appends: arg('appends', 1000), publishers: arg('publishers', 10) });
  console.log(`item store, 1 topic, ${r.publishers} concurrent publishers, ${r.payloadBytes}-byte payloads, fsync per group commit, median of 5`);
  for (const run of r.runs) {
    console.log(
      `  max_items=${run.maxItems}: ${r.appends} appends fresh ${run.freshMs} ms (${run.freshPerSec}/s), ` +
        `after ${r.history} items ${run.afterHistoryMs} ms (${run.afterHistoryPerSec}/s), ratio ${run.ratio}, ` +
        `fsyncs/append ${run.fsyncsPerAppend}`,
    );
  }
  console.log(JSON.stringify(r));
}
