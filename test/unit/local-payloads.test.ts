// The local copy of payloads a PostgreSQL-backed instance keeps (src/store/pg/local-payloads.ts):
// bounded memory, exact read-back, dead space given back, damage detected, a refused disk survived.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalPayloadDamaged, LocalPayloads, type PayloadRef } from '../../src/store/pg/local-payloads.js';

const text = (i: number, n = 100) => `{"n":${i},"s":"${'é'.repeat(Math.max(0, (n - 16) / 2))}"}`;

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'local-payloads-'));
}

test('payloads read back exactly; memory stays within the bound; misses are read from disk', async () => {
  const dir = await tempDir();
  const lp = new LocalPayloads(dir, { cacheBytes: 500 });
  const refs = Array.from({ length: 50 }, (_, i) => lp.put(text(i)));
  const st = lp.stats();
  assert.ok(st.bytes <= 500, `cache ${st.bytes} bytes`);
  assert.ok(st.items < 50);
  for (let i = 0; i < 50; i++) assert.equal(lp.read(refs[i]!), text(i));
  assert.ok(lp.stats().diskReads >= 40, 'evicted payloads came back from the segment file');
  assert.ok(lp.stats().bytes <= 500);
  assert.equal(lp.stats().liveBytes, refs.reduce((n, r) => n + r.len, 0));
  lp.close();
  assert.deepEqual(await readdir(dir), [], 'close removes the segments');
  await rm(dir, { recursive: true });
});

test('opening empties the folder of an earlier process\'s segments, and only those', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'seg-7.bin'), 'left by a killed instance');
  await writeFile(join(dir, 'notes.txt'), 'not ours');
  const lp = new LocalPayloads(dir, { cacheBytes: 0 });
  assert.deepEqual((await readdir(dir)).sort(), ['notes.txt', 'seg-1.bin']);
  const r = lp.put('x');
  assert.equal(lp.read(r), 'x');
  lp.close();
  await rm(dir, { recursive: true });
});

test('dead space is given back: emptied segments go, mostly-dead ones are compacted', async () => {
  const dir = await tempDir();
  const lp = new LocalPayloads(dir, { cacheBytes: 0, segmentBytes: 1000 });
  const refs: PayloadRef[] = [];
  for (let i = 0; i < 100; i++) refs.push(lp.put(text(i)));
  const before = lp.stats();
  assert.ok(before.segments >= 10, `${before.segments} segments`);
  // Keep every tenth: each full segment is then ~10 % live.
  const kept = new Map<number, PayloadRef>();
  refs.forEach((r, i) => (i % 10 === 0 ? kept.set(i, r) : lp.free(r)));
  await lp.idle();
  const after = lp.stats();
  assert.ok(after.compactions > 0, 'compaction ran');
  assert.ok(after.segments <= 3, `${after.segments} segments left`);
  assert.ok(after.diskBytes <= 4 * after.liveBytes + 1000, JSON.stringify(after));
  assert.equal((await readdir(dir)).length, after.segments, 'the files on disk are the segments held');
  for (const [i, r] of kept) assert.equal(lp.read(r), text(i));
  // Freeing everything leaves the current segment only.
  for (const r of kept.values()) lp.free(r);
  await lp.idle();
  assert.equal(lp.stats().liveBytes, 0);
  assert.throws(() => lp.read(kept.get(0)!), /no longer held/);
  lp.close();
  await rm(dir, { recursive: true });
});

test('a damaged local copy throws LocalPayloadDamaged, never wrong text', async () => {
  const dir = await tempDir();
  const lp = new LocalPayloads(dir, { cacheBytes: 0 });
  const a = lp.put(text(1));
  const b = lp.put(text(2));
  const fh = await open(join(dir, 'seg-1.bin'), 'r+');
  await fh.write(Buffer.from('#'), 0, 1, b.off + 3);
  await fh.close();
  assert.equal(lp.read(a), text(1));
  assert.throws(() => lp.read(b), LocalPayloadDamaged);
  lp.close();
  await rm(dir, { recursive: true });
});

test('a disk that refuses writes: payloads are held in memory, said once, and read back', async () => {
  const dir = await tempDir();
  const errors: string[] = [];
  const lp = new LocalPayloads(dir, { cacheBytes: 0, segmentBytes: 100, onWriteError: (e) => errors.push(e.message) });
  const first = lp.put(text(0));
  await rm(dir, { recursive: true }); // the next segment cannot be created (each put would start one)
  const refs = Array.from({ length: 5 }, (_, i) => lp.put(text(i + 1)));
  assert.equal(errors.length, 1, errors.join('; '));
  assert.match(errors[0]!, /ENOENT/);
  refs.forEach((r, i) => assert.equal(lp.read(r), text(i + 1)));
  assert.ok(lp.stats().memoryOnlyBytes > 0);
  lp.free(refs[0]!);
  assert.equal(lp.stats().memoryOnlyBytes, refs.slice(1).reduce((n, r) => n + r.len, 0));
  assert.ok(first.text === undefined, 'the payload written before stays a disk one');
  lp.close();
});
