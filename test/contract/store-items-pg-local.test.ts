// The PostgreSQL item store keeps payloads on the instance's disk behind a bounded memory cache
// (src/store/pg/local-payloads.ts), on a real PostgreSQL: memory stays within store.cache_bytes
// however much is stored, reads are exact after a reopen, catching up with another instance
// reads only the payloads it does not hold, and a damaged local copy is read again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgItemStore } from '../../src/store/pg/items.js';
import { pgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { item } from './store-items.contract.js';

let fx: PgFixture;
before(async () => void (fx = await pgFixture()));
after(() => fx.close());

const payload = (topic: string, i: number) => `{"type":"bundle","id":"bundle--${topic}-${i}","pad":"${'x'.repeat(1000)}"}`;
const dirs: string[] = [];
async function localDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'pg-local-'));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('PostgreSQL item store: payloads on local disk behind a bounded cache', () => {
  test('memory stays within cacheBytes while everything reads back, also after a reopen (read in pages)', async () => {
    const pool = await fx.poolFor('local-bound');
    const s = await PgItemStore.open(pool, { cacheBytes: 4096, localDir: await localDir() });
    // 2 × 230 items: more than one page (200 rows) at open.
    await Promise.all(['a', 'b'].map(async (t) => {
      for (let i = 0; i < 230; i++) await s.append(t, item(`i${i}`, payload(t, i)), 1000);
    }));
    const live = s.stats().cache!;
    assert.ok(live.bytes <= 4096, JSON.stringify(live));
    const total = ['a', 'b'].reduce((n, t) => n + Array.from({ length: 230 }, (_, i) => Buffer.byteLength(payload(t, i))).reduce((x, y) => x + y, 0), 0);
    assert.equal(live.local!.liveBytes, total, 'every payload is held locally');
    for (const t of ['a', 'b']) assert.deepEqual(s.list(t).map((x) => x.payload), Array.from({ length: 230 }, (_, i) => payload(t, i)));
    assert.ok(s.stats().cache!.diskReads > 400, 'evicted payloads were read from the local copy');
    await s.close();

    const dir = await localDir();
    const again = await PgItemStore.open(pool, { cacheBytes: 4096, localDir: dir });
    const st = again.stats().cache!;
    assert.equal(st.bytes, 0, 'opening keeps no payload in memory');
    assert.equal(st.local!.liveBytes, total, 'every payload was copied to local disk at open');
    assert.equal(again.list('a').length, 230);
    assert.equal(again.get('b', 'i229')?.payload, payload('b', 229));
    assert.deepEqual(again.after('a', 226, 10).map((x) => x.payload), [226, 227, 228, 229].map((i) => payload('a', i)));
    assert.ok((await readdir(dir)).length >= 1);
    await again.close();
    assert.deepEqual(await readdir(dir), [], 'close removes the local copy');
  });

  test('catching up with another instance reads only the payloads it lacks; dropped items free their copy', async () => {
    const pool = await fx.poolFor('local-remote');
    const a = await PgItemStore.open(pool, { localDir: await localDir() });
    const b = await PgItemStore.open(pool, { localDir: await localDir() });
    for (let i = 1; i <= 5; i++) await a.append('t', item(`i${i}`, payload('t', i)), 100);
    await b.applyRemote('t', 'put', 5, 100);
    assert.deepEqual(b.list('t').map((x) => x.payload), [1, 2, 3, 4, 5].map((i) => payload('t', i)));
    const one = Buffer.byteLength(payload('t', 1)); // the same for i = 1…9
    assert.equal(b.stats().cache!.local!.liveBytes, 5 * one);
    const written = b.stats().cache!.local!.diskBytes;

    assert.equal(await a.retract('t', 'i2'), true);
    await b.applyRemote('t', 'reload');
    assert.deepEqual(b.list('t').map((x) => x.id), ['i1', 'i3', 'i4', 'i5']);
    assert.equal(b.stats().cache!.local!.diskBytes, written, 'a reload read no payload it already held');
    assert.equal(b.stats().cache!.local!.liveBytes, 4 * one, "the retracted item's copy is dead space");
    assert.equal(b.get('t', 'i4')?.payload, payload('t', 4));

    await a.append('t', item('i6', payload('t', 6)), 2); // trims to i5, i6
    await b.applyRemote('t', 'put', 6, 2);
    assert.deepEqual(b.list('t').map((x) => x.payload), [5, 6].map((i) => payload('t', i)));
    assert.equal(b.stats().cache!.local!.liveBytes, 2 * one);
    await a.close();
    await b.close();
  });

  test('a damaged local copy is refused, read again from PostgreSQL, and then reads right', async () => {
    const pool = await fx.poolFor('local-damage');
    const dir = await localDir();
    const s = await PgItemStore.open(pool, { cacheBytes: 0, localDir: dir });
    for (let i = 1; i <= 3; i++) await s.append('t', item(`i${i}`, payload('t', i)), 100);
    const fh = await open(join(dir, 'seg-1.bin'), 'r+');
    const one = Buffer.byteLength(payload('t', 1));
    await fh.write(Buffer.from('#'), 0, 1, one + 40); // inside i2's copy
    await fh.close();
    assert.equal(s.get('t', 'i1')?.payload, payload('t', 1));
    assert.throws(() => s.get('t', 'i2')!.payload, /damaged.*read again from PostgreSQL/);
    await s.idle();
    assert.equal(s.get('t', 'i2')?.payload, payload('t', 2));
    assert.equal(s.get('t', 'i3')?.payload, payload('t', 3));
    await s.close();
  });
});
