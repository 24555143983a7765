// Damage to acknowledged items (issue 17.1): a corrupt frame costs that frame only, the loss
// is logged at error and counted, the damaged log is kept aside, and no seq is handed out twice.
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile, readdir, truncate, unlink, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openItemStore } from '../../src/store/items.js';
import { topicToFileName } from '../../src/store/names.js';
import { encodeRecord, type LogRecord } from '../../src/store/record.js';
import { FRAME_HEADER, MAGIC } from '../../src/store/frame.js';
import type { ItemStore, ItemStoreOptions } from '../../src/store/types.js';
import { item } from './store-items.contract.js';

const TOPIC = 'threat-intel/indicators';

function capture(): { log: ItemStoreOptions['log']; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  return { log: pino({ level: 'info' }, { write: (l: string) => void raw.push(l) }), lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
const errors = (c: ReturnType<typeof capture>) => c.lines().filter((l) => l.level === 50);

/** Offsets of the frames in a format-2 log. */
async function frameStarts(file: string): Promise<number[]> {
  const buf = await readFile(file);
  const out: number[] = [];
  for (let off = 0; off < buf.length; off += FRAME_HEADER + buf.readUInt32LE(off + 4)) out.push(off);
  return out;
}

async function flip(file: string, at: number, bit = 0x10): Promise<void> {
  const buf = await readFile(file);
  buf[at]! ^= bit;
  await writeFile(file, buf);
}

describe('item log damage', () => {
  let dir: string;
  let file: string;
  let s: ItemStore | undefined;
  const ids = (st: ItemStore) => st.list(TOPIC).map((i) => i.id);
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'itemdamage-'));
    file = join(dir, topicToFileName(TOPIC));
  });
  afterEach(async () => {
    await s?.close();
    s = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function fill(n: number, payload = (i: number) => `<indicator n="${i}">${'x'.repeat(400)}</indicator>`): Promise<void> {
    const w = await openItemStore(dir);
    for (let i = 1; i <= n; i++) await w.append(TOPIC, item(`i${i}`, payload(i)), 1000);
    await w.close();
  }

  test('one flipped bit in the middle of 200 items costs that item only; seq 201 is next; after_seq=200 works', async () => {
    await fill(200);
    const size = (await stat(file)).size;
    const starts = await frameStarts(file);
    const hit = starts.findIndex((o) => o > size / 2) - 1; // the frame holding the middle byte
    await flip(file, Math.floor(size / 2));
    const c = capture();
    s = await openItemStore(dir, { log: c.log });
    const lost = `i${hit + 1}`;
    assert.equal(s.list(TOPIC).length, 199);
    assert.deepEqual(ids(s), Array.from({ length: 200 }, (_, i) => `i${i + 1}`).filter((x) => x !== lost), 'only the damaged item is gone');
    assert.equal(s.highSeq(TOPIC), 200);
    const next = await s.append(TOPIC, item('new'), 1000);
    assert.equal(next.seq, 201, 'no seq is handed out twice');
    assert.deepEqual(s.after(TOPIC, 200, 10).map((i) => [i.seq, i.id]), [[201, 'new']]);
    assert.equal(s.get(TOPIC, 'i200')?.payload, `<indicator n="200">${'x'.repeat(400)}</indicator>`);
    const e = errors(c);
    assert.equal(e.length, 1, JSON.stringify(c.lines()));
    assert.equal(e[0]!.topic, TOPIC);
    assert.equal(e[0]!.offset, starts[hit]);
    assert.equal(e[0]!.bytes, starts[hit + 1]! - starts[hit]!);
    assert.deepEqual(e[0]!.seqs, [hit + 1]);
    const dmg = s.stats().damage ?? [];
    assert.equal(dmg.length, 1);
    assert.deepEqual([dmg[0]!.topic, dmg[0]!.offset, dmg[0]!.seqs, dmg[0]!.found], [TOPIC, starts[hit], [hit + 1], 'open']);
    assert.ok(dmg[0]!.savedTo && (await readdir(dir)).includes(dmg[0]!.savedTo.slice(dir.length + 1)), 'the damaged log is kept aside');
    await s.close();
    s = await openItemStore(dir);
    assert.deepEqual(s.stats().damage, [], 'the log was rewritten without the damaged frame');
    assert.equal(s.list(TOPIC).length, 200);
    assert.equal((await s.append(TOPIC, item('newer'), 1000)).seq, 202);
  });

  const cases: [string, (starts: number[], size: number) => Promise<void>, string[], number[]][] = [
    ['a flipped byte in the last (acknowledged) record', async (_st, size) => flip(file, size - 2), ['i1', 'i2'], [3]],
    ['the last (acknowledged) record cut in its body', async (_st, size) => truncate(file, size - 5), ['i1', 'i2'], [3]],
    ['a flipped bit in the header of the middle record', async (st) => flip(file, st[1]! + 5), ['i1', 'i3'], []],
    ['a flipped bit in the magic of the first record', async (st) => flip(file, st[0]! + 1), ['i2', 'i3'], []],
    ['the last record removed at a frame boundary', async (st) => truncate(file, st[2]!), ['i1', 'i2'], []],
  ];
  for (const [what, damage, left, seqs] of cases) {
    test(`${what}: reported at error, the rest kept, seq never reused`, async () => {
      await fill(3);
      await damage(await frameStarts(file), (await stat(file)).size);
      const c = capture();
      s = await openItemStore(dir, { log: c.log });
      assert.deepEqual(ids(s), left);
      assert.equal(errors(c).length, 1, JSON.stringify(c.lines()));
      assert.match(String(errors(c)[0]!.msg), /damaged/);
      assert.deepEqual(s.stats().damage?.map((d) => d.seqs), [seqs]);
      assert.deepEqual(s.stats().truncated, [], 'damage is not called a torn tail');
      assert.equal((await s.append(TOPIC, item('next'), 1000)).seq, 4);
      await s.close();
      s = await openItemStore(dir);
      assert.deepEqual(s.stats().damage, [], 'clean on the next open');
      assert.deepEqual(ids(s), [...left, 'next']);
    });
  }

  test('the seq file outlives a log that lost everything, and a damaged seq file is reported', async () => {
    await fill(3);
    await writeFile(file, Buffer.alloc(0));
    s = await openItemStore(dir);
    assert.equal(s.highSeq(TOPIC), 3);
    assert.equal((await s.append(TOPIC, item('a'), 10)).seq, 4);
    await s.close();
    await flip(`${file}.seq`, 6);
    const c = capture();
    s = await openItemStore(dir, { log: c.log });
    assert.ok(errors(c).some((l) => l.file === `${file}.seq`), 'the bad seq file is named at error');
    assert.equal(s.highSeq(TOPIC), 4, 'the log still knows its own high-water mark');
    await s.close();
    await unlink(`${file}.seq`);
    s = await openItemStore(dir);
    assert.equal((await s.append(TOPIC, item('b'), 10)).seq, 5);
  });

  test('a log removed beside its seq file: the high-water mark stays, the loss is reported', async () => {
    await fill(3);
    await unlink(file);
    const c = capture();
    s = await openItemStore(dir, { log: c.log });
    assert.deepEqual(ids(s), []);
    assert.equal(s.highSeq(TOPIC), 3);
    assert.equal(errors(c).length, 1, JSON.stringify(c.lines()));
    assert.equal((await s.append(TOPIC, item('a'), 10)).seq, 4);
  });

  test('a format-1 log is migrated; a damaged format-1 frame costs that frame only', async () => {
    const recs: LogRecord[] = [1, 2, 3].map((n) => ({ k: 'put', s: n, id: `i${n}`, pub: 'p@grid.test', ts: '2026-01-01T00:00:00Z', p: `<p n="${n}"/>` }));
    const frames = recs.map(encodeRecord);
    const whole = Buffer.concat(frames);
    whole[frames[0]!.length + 12]! ^= 0x01; // inside the second record's JSON
    await writeFile(file, whole);
    const c = capture();
    s = await openItemStore(dir, { log: c.log });
    assert.deepEqual(ids(s), ['i1', 'i3']);
    assert.equal(s.get(TOPIC, 'i3')?.payload, '<p n="3"/>');
    assert.equal(errors(c).length, 1);
    assert.equal((await s.append(TOPIC, item('i4'), 10)).seq, 4);
    assert.ok((await readFile(file)).subarray(0, 4).equals(MAGIC), 'rewritten in format 2');
    assert.ok((await readdir(dir)).some((n) => n.includes('.v1-')), 'the damaged format-1 log is kept');
    await s.close();
    s = await openItemStore(dir);
    assert.deepEqual(ids(s), ['i1', 'i3', 'i4']);
  });

  test('payloads are read from disk through a bounded cache, also after compaction', async () => {
    s = await openItemStore(dir, { cacheBytes: 3000, compactMinDead: 5, compactFactor: 1 });
    const p = (i: number) => `<p n="${i}">${'y'.repeat(900)}</p>`;
    for (let i = 0; i < 40; i++) await s.append(TOPIC, item(`k${i % 8}`, p(i)), 100);
    assert.ok(s.stats().compactions > 0, 'compaction moved the frames');
    const cache = s.stats().cache!;
    assert.ok(cache.bytes <= 3000 && cache.items <= 3, JSON.stringify(cache));
    for (let i = 32; i < 40; i++) assert.equal(s.get(TOPIC, `k${i % 8}`)?.payload, p(i));
    assert.ok(s.stats().cache!.diskReads > 0, 'evicted payloads were read back from the log');
    await s.close();
    s = await openItemStore(dir, { cacheBytes: 3000 });
    assert.equal(s.stats().cache!.bytes, 0, 'opening reads no payload into memory');
    assert.deepEqual(s.list(TOPIC).map((i) => i.payload), Array.from({ length: 8 }, (_, i) => p(32 + i)));
  });

  test('a frame damaged while running is found when read, reported, and dropped', async () => {
    await fill(3);
    s = await openItemStore(dir, { cacheBytes: 1 });
    const c = capture();
    await s.close();
    s = await openItemStore(dir, { cacheBytes: 1, log: c.log });
    const starts = await frameStarts(file);
    await flip(file, starts[1]! + FRAME_HEADER + 30);
    assert.throws(() => s!.get(TOPIC, 'i2')!.payload, /damaged/);
    assert.deepEqual(ids(s), ['i1', 'i3']);
    assert.deepEqual(s.stats().damage?.map((d) => [d.found, d.seqs]), [['read', [2]]]);
    assert.equal(errors(c).length, 1);
    assert.equal((await s.append(TOPIC, item('i4'), 10)).seq, 4);
  });
});
