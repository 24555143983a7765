import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { fullGc, IdleGc } from '../../src/admin/idle-gc.js';
import { createLogger } from '../../src/log.js';

const MB = 1024 * 1024;

function harness(o: { heap: number[]; busy?: number[] }) {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  const log = createLogger({ level: 'debug', destination: dest as never });
  const s = { busy: 0, heap: o.heap[0]! * MB, now: 0, gcs: 0 };
  const gc = new IdleGc({
    log, gc: () => { s.gcs++; s.heap = o.heap[Math.min(s.gcs, o.heap.length - 1)]! * MB; },
    utilization: () => s.busy, heapTotal: () => s.heap, now: () => s.now, minGapMs: 30_000,
  });
  return { gc, s, lines };
}

test('collects only after two idle checks in a row, and once per growth of the heap', () => {
  // Heap sizes: 120 MB before the first collection, 60 MB after it, 55 after the next.
  const { gc, s, lines } = harness({ heap: [120, 60, 55] });
  s.busy = 0.6;
  assert.equal(gc.check(), false, 'a busy loop is never paused');
  s.busy = 0.01;
  assert.equal(gc.check(), false, 'one idle check is not enough: the burst may go on');
  s.busy = 0.3;
  assert.equal(gc.check(), false);
  s.busy = 0.01;
  assert.equal(gc.check(), false);
  s.now = 5000;
  assert.equal(gc.check(), true, 'idle twice in a row, never collected before: collect');
  assert.equal(s.gcs, 1);
  assert.equal(gc.figures.runs, 1);
  assert.equal(gc.figures.last_freed_mb, 60);
  assert.match(lines.join(''), /idle gc: .*collected/);
  s.now = 100_000;
  assert.equal(gc.check(), false, 'the heap has not grown since: nothing to give back');
  s.heap = 64 * MB; // 60 + 4 MB: below max(8 MB, 10 %)
  assert.equal(gc.check(), false);
  s.heap = 90 * MB; // a burst grew it again
  assert.equal(gc.check(), true);
  assert.equal(s.gcs, 2);
  assert.equal(gc.figures.last_freed_mb, 35);
});

test('never two collections closer than the minimum gap, however the heap grows', () => {
  const { gc, s } = harness({ heap: [120, 60, 60] });
  s.busy = 0;
  gc.check();
  s.now = 1000;
  assert.equal(gc.check(), true);
  s.heap = 200 * MB;
  s.now = 20_000;
  assert.equal(gc.check(), false, '19 s after the last one');
  s.now = 31_001;
  assert.equal(gc.check(), true);
});

test('a failing collector is logged, not thrown, and the controller goes on', () => {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  const gc = new IdleGc({ log: createLogger({ level: 'debug', destination: dest as never }), gc: () => { throw new Error('boom'); }, utilization: () => 0, heapTotal: () => 100 * MB, now: () => 0 });
  gc.check();
  assert.equal(gc.check(), false);
  assert.equal(gc.figures.runs, 0);
  assert.match(lines.join(''), /idle gc failed/);
});

test('V8\'s full collection is reachable at run time and gives back a heap of garbage', async () => {
  const f = fullGc();
  assert.equal(typeof f, 'function', `no collector: ${String(f)}`);
  let junk: unknown[] | null = [];
  for (let i = 0; i < 300_000; i++) junk.push({ i, s: `item-${i}`, a: [i, i + 1] });
  const grown = process.memoryUsage().heapUsed;
  junk = null;
  (f as () => void)();
  const after = process.memoryUsage().heapUsed;
  assert.ok(after < grown - 10 * MB, `heap used ${Math.round(grown / MB)} MB → ${Math.round(after / MB)} MB`);
});
