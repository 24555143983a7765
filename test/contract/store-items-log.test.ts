// What only the file-based item log has: its files, torn tails, leftovers of compaction.
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, appendFile, stat, readFile, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openItemStore } from '../../src/store/items.js';
import { topicToFileName } from '../../src/store/names.js';
import { LogFormatError, type LogRecord } from '../../src/store/record.js';
import { encodeFrame } from '../../src/store/frame.js';
import { item } from './store-items.contract.js';

const TOPIC = 'threat-intel/indicators';

describe('item log files', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'itemlog-'));
    file = join(dir, topicToFileName(TOPIC));
    const s = await openItemStore(dir);
    for (const id of ['a', 'b', 'c']) await s.append(TOPIC, item(id), 100);
    await s.close();
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  // A torn tail is what a crash leaves of a write that was never acknowledged: part of the
  // frame of a fourth item (seq 4), or bytes after it. a, b, c (acknowledged) stay. Cutting an
  // acknowledged frame is damage, not a torn tail: see store-items-damage.test.ts.
  const unacked = () => encodeFrame({ k: 'put', s: 4, id: 'd', pub: item('d').publisher, ts: item('d').published, p: item('d').payload, max: 100 });
  const damages: [string, (size: number) => Promise<void>, string[]][] = [
    ['garbage appended', async () => appendFile(file, Buffer.from('\x13\x00\x00\x00garbage!')), ['a', 'b', 'c']],
    ['zero-filled tail', async () => appendFile(file, Buffer.alloc(4096)), ['a', 'b', 'c']],
    ['an unacknowledged record cut in its body', async () => appendFile(file, unacked().subarray(0, unacked().length - 5)), ['a', 'b', 'c']],
    ['an unacknowledged record cut in its header', async () => appendFile(file, unacked().subarray(0, 10)), ['a', 'b', 'c']],
    ['a flipped byte in an unacknowledged record', async () => {
      const f = unacked();
      f[f.length - 2] ^= 0xff;
      await appendFile(file, f);
    }, ['a', 'b', 'c']],
  ];
  for (const [what, damage, left] of damages) {
    test(`a torn tail (${what}) is cut at open, logged, and the log goes on`, async () => {
      const size = (await stat(file)).size;
      await damage(size);
      const damaged = (await stat(file)).size;
      const lines: string[] = [];
      const s = await openItemStore(dir, { log: pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) }) });
      assert.deepEqual(s.list(TOPIC).map((i) => i.id), left);
      assert.ok(lines.some((l) => l.includes('torn') && l.includes('"bytes"')), 'the cut is logged with its size');
      const cut = s.stats().truncated;
      assert.equal(cut.length, 1);
      assert.equal(cut[0]!.topic, TOPIC);
      assert.equal(cut[0]!.bytes, damaged - (await stat(file)).size);
      assert.ok((await readdir(dir)).some((n) => n.includes('.torn-')), 'cut bytes kept aside');
      const next = await s.append(TOPIC, item('d'), 100);
      assert.equal(next.seq, left.length + 1);
      await s.close();
      const again = await openItemStore(dir);
      assert.deepEqual(again.stats().truncated, [], 'clean on the next open');
      assert.deepEqual(again.list(TOPIC).map((i) => i.id), [...left, 'd']);
      await again.close();
    });
  }

  test('a well-formed record of an unknown kind is refused, naming the file', async () => {
    await appendFile(file, encodeFrame({ k: 'future', x: 1 } as unknown as LogRecord));
    await assert.rejects(openItemStore(dir), (e: unknown) => e instanceof LogFormatError && e.message.includes(file));
  });

  test('a leftover compaction temp file is removed; the log it was replacing is used', async () => {
    await writeFile(`${file}.compact-tmp`, 'half a compaction');
    const s = await openItemStore(dir);
    assert.deepEqual(s.list(TOPIC).map((i) => i.id), ['a', 'b', 'c']);
    assert.ok(!(await readdir(dir)).some((n) => n.endsWith('.compact-tmp')));
    await s.close();
  });

  test('compaction shrinks the file and keeps the live items', async () => {
    const s = await openItemStore(dir, { compactMinDead: 10, compactFactor: 2 });
    for (let i = 0; i < 50; i++) await s.append(TOPIC, item(`r${i % 2}`, 'x'.repeat(200)), 100);
    assert.ok(s.stats().compactions >= 1);
    assert.ok((await stat(file)).size < 50 * 200, 'dead records are gone');
    await s.close();
    const r = await openItemStore(dir);
    assert.deepEqual(r.list(TOPIC).map((i) => [i.id, i.seq]), [['a', 1], ['b', 2], ['c', 3], ['r0', 52], ['r1', 53]]);
    await r.close();
  });

  test('files not named like topic logs are ignored', async () => {
    await writeFile(join(dir, 'README.txt'), 'hello');
    await writeFile(join(dir, 'Bad%zz.log'), 'x');
    const s = await openItemStore(dir);
    assert.equal(s.list(TOPIC).length, 3);
    await s.close();
  });
});
