// The item store contract: every backend of ItemStore runs this suite.
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ItemStore, ItemStoreOptions, NewItem } from '../../src/store/types.js';

export type ItemFactory = (dir: string, opts?: ItemStoreOptions) => Promise<ItemStore>;

export const item = (id: string, payload = `<p id="${id}"/>`): NewItem => ({
  id,
  publisher: 'sensor@grid.test/a',
  payload,
  published: '2026-01-02T03:04:05Z',
});

const UNBOUNDED = Number.MAX_SAFE_INTEGER;
const ids = (s: ItemStore, t: string): string[] => s.list(t).map((i) => i.id);
const seqs = (s: ItemStore, t: string): number[] => s.list(t).map((i) => i.seq);

/** What a backend has beyond the interface: the files store compacts its logs, PostgreSQL does not. */
export interface ItemBackendFeatures {
  compaction: boolean;
}

export function itemStoreContract(name: string, open: ItemFactory, features: ItemBackendFeatures = { compaction: true }): void {
  describe(`item store contract: ${name}`, () => {
    let dir: string;
    let store: ItemStore;
    const reopen = async (opts?: ItemStoreOptions): Promise<ItemStore> => {
      await store.close();
      store = await open(dir, opts);
      return store;
    };
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'items-'));
      store = await open(dir);
    });
    afterEach(async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    });

    test('an unknown topic reads as empty', () => {
      assert.deepEqual(store.list('none'), []);
      assert.deepEqual(store.latest('none', 5), []);
      assert.deepEqual(store.after('none', 0, 5), []);
      assert.equal(store.get('none', 'x'), undefined);
      assert.equal(store.oldestSeq('none'), undefined);
      assert.equal(store.highSeq('none'), 0);
    });

    test('append assigns seq 1, 2, 3 and the reads agree', async () => {
      for (const id of ['a', 'b', 'c']) await store.append('t', item(id), UNBOUNDED);
      assert.deepEqual(seqs(store, 't'), [1, 2, 3]);
      assert.deepEqual(store.latest('t', 2).map((i) => i.id), ['b', 'c']);
      assert.deepEqual(store.after('t', 1, 10).map((i) => i.seq), [2, 3]);
      assert.deepEqual(store.after('t', 0, 2).map((i) => i.seq), [1, 2]);
      assert.deepEqual(store.after('t', 3, 10), []);
      assert.deepEqual(store.get('t', 'b'), { seq: 2, ...item('b') });
      assert.equal(store.oldestSeq('t'), 1);
      assert.equal(store.highSeq('t'), 3);
    });

    test('items and seqs survive close and reopen, per topic, whatever the topic name', async () => {
      const topics = ['threat-intel/indicators', 'a.b_c~d', 'Upper/Case', 'upper/case', 'ünï/ködé', '.', '..', '%41'];
      for (const [i, t] of topics.entries()) {
        await store.append(t, item(`x${i}`, `payload ✓ ${t}`), UNBOUNDED);
        await store.append(t, item(`y${i}`), UNBOUNDED);
      }
      await reopen();
      for (const [i, t] of topics.entries()) {
        assert.deepEqual(ids(store, t), [`x${i}`, `y${i}`], t);
        assert.equal(store.get(t, `x${i}`)?.payload, `payload ✓ ${t}`);
        assert.equal(store.highSeq(t), 2);
      }
    });

    test('publishing an existing id replaces it with a new seq', async () => {
      for (const id of ['a', 'b', 'c']) await store.append('t', item(id), UNBOUNDED);
      const again = await store.append('t', item('a', '<new/>'), UNBOUNDED);
      assert.equal(again.seq, 4);
      assert.deepEqual(ids(store, 't'), ['b', 'c', 'a']);
      assert.equal(store.get('t', 'a')?.payload, '<new/>');
      await reopen();
      assert.deepEqual(seqs(store, 't'), [2, 3, 4]);
      assert.equal(store.get('t', 'a')?.payload, '<new/>');
    });

    test('max_items keeps the newest, also after reopen', async () => {
      for (let i = 1; i <= 5; i++) await store.append('t', item(`i${i}`), 3);
      assert.deepEqual(ids(store, 't'), ['i3', 'i4', 'i5']);
      assert.equal(store.oldestSeq('t'), 3);
      await reopen();
      assert.deepEqual(ids(store, 't'), ['i3', 'i4', 'i5']);
      assert.equal(await store.trim('t', 1), 2, 'trim after max_items is lowered');
      await reopen();
      assert.deepEqual(ids(store, 't'), ['i5']);
    });

    test('retract removes an item and says whether it existed', async () => {
      await store.append('t', item('a'), UNBOUNDED);
      await store.append('t', item('b'), UNBOUNDED);
      assert.equal(await store.retract('t', 'a'), true);
      assert.equal(await store.retract('t', 'a'), false);
      assert.equal(await store.retract('other', 'a'), false);
      await reopen();
      assert.deepEqual(ids(store, 't'), ['b']);
    });

    test('expire removes the items published before the cutoff, durably, in one write', async () => {
      const at = (id: string, published: string): NewItem => ({ ...item(id), published });
      for (let i = 0; i < 8; i++) await store.append('t', at(`old${i}`, `2026-01-01T00:00:0${i}.000001Z`), UNBOUNDED);
      await store.append('t', at('old8', '2026-01-01T00:00:09.999999Z'), UNBOUNDED);
      await store.append('t', at('old9', '2026-01-01T00:00:09.999999Z'), UNBOUNDED);
      await store.append('t', at('new1', '2026-01-01T00:00:10.000000Z'), UNBOUNDED);
      await store.append('t', at('new2', '2026-01-01T00:00:11.5Z'), UNBOUNDED);
      await store.append('u', at('other', '2026-01-01T00:00:00Z'), UNBOUNDED);
      const cutoff = Date.parse('2026-01-01T00:00:10Z');
      const fsyncs = store.stats().fsyncs;
      assert.equal(await store.expire('t', cutoff), 10);
      assert.ok(store.stats().fsyncs - fsyncs <= 2, `group commit, not a write per expired item (${store.stats().fsyncs - fsyncs} writes)`);
      assert.deepEqual(ids(store, 't'), ['new1', 'new2']);
      assert.equal(store.get('t', 'old1'), undefined);
      assert.equal(store.oldestSeq('t'), 11);
      assert.deepEqual(ids(store, 'u'), ['other'], 'other topics untouched');
      assert.equal(await store.expire('t', cutoff), 0, 'nothing left to expire');
      assert.equal(await store.expire('none', cutoff), 0);
      await reopen();
      assert.deepEqual(ids(store, 't'), ['new1', 'new2']);
      assert.equal(store.highSeq('t'), 12);
      assert.equal((await store.append('t', item('next'), UNBOUNDED)).seq, 13, 'seqs are not given back');
    });

    test('expire leaves an id published again (a newer version) alone', async () => {
      await store.append('t', { ...item('a'), published: '2026-01-01T00:00:00Z' }, UNBOUNDED);
      await store.append('t', { ...item('a'), published: '2026-06-01T00:00:00Z' }, UNBOUNDED);
      assert.equal(await store.expire('t', Date.parse('2026-03-01T00:00:00Z')), 0);
      assert.deepEqual(store.list('t').map((i) => [i.id, i.seq]), [['a', 2]]);
    });

    // Each scenario ends with the topic's high-water mark at `hw`; the next seq must be hw + 1.
    const neverReused: [string, (s: ItemStore) => Promise<void>, number][] = [
      ['retract of the newest', async (s) => void (await s.retract('t', 'i3')), 3],
      ['purge', (s) => s.purge('t'), 3],
      ['delete of the topic', (s) => s.deleteTopic('t'), 3],
      ['trim to max_items', async (s) => void (await s.trim('t', 1)), 3],
      ['overwrite of the newest', async (s) => void (await s.append('t', item('i3'), UNBOUNDED)), 4],
      ['retract of all, one by one', async (s) => { for (const id of ['i1', 'i2', 'i3']) await s.retract('t', id); }, 3],
      ['expiry of all (item_expire)', async (s) => void (await s.expire('t', Date.parse('2027-01-01T00:00:00Z'))), 3],
    ];
    for (const [what, act, hw] of neverReused) {
      test(`seq is never reused after ${what}, also across restart`, async () => {
        for (const id of ['i1', 'i2', 'i3']) await store.append('t', item(id), UNBOUNDED);
        await act(store);
        assert.equal(store.highSeq('t'), hw);
        await reopen();
        assert.equal(store.highSeq('t'), hw);
        assert.equal((await store.append('t', item('next'), UNBOUNDED)).seq, hw + 1);
      });
    }

    test('seq is never reused after compaction (retracted newest, then restart)', async () => {
      store = await reopen({ compactMinDead: 5, compactFactor: 1 });
      for (let i = 0; i < 60; i++) await store.append('t', item(`k${i % 3}`), 3);
      await store.retract('t', 'k2'); // seq 60, the newest
      if (features.compaction) assert.ok(store.stats().compactions > 0, 'compaction happened');
      await reopen({ compactMinDead: 5, compactFactor: 1 });
      assert.equal(store.highSeq('t'), 60);
      assert.deepEqual(seqs(store, 't'), [58, 59]);
      assert.equal((await store.append('t', item('z'), 3)).seq, 61);
    });

    for (const opts of [{}, { groupCommitMs: 2 }]) {
      test(`100 concurrent appends: all durable, ascending seqs, fewer fsyncs (group commit ${JSON.stringify(opts)})`, async () => {
        store = await reopen(opts);
        const before = store.stats().fsyncs;
        const stored = await Promise.all(Array.from({ length: 100 }, (_, i) => store.append('g', item(`c${i}`), UNBOUNDED)));
        assert.deepEqual(stored.map((s) => s.seq), Array.from({ length: 100 }, (_, i) => i + 1));
        const fsyncs = store.stats().fsyncs - before;
        assert.ok(fsyncs < 100 && fsyncs >= 1, `fsyncs=${fsyncs}`);
        assert.equal(store.stats().appends, 100);
        await reopen();
        assert.equal(store.list('g').length, 100);
        assert.deepEqual(store.after('g', 95, 10).map((i) => i.id), ['c95', 'c96', 'c97', 'c98', 'c99']);
      });
    }

    test('concurrent appends to many topics with few open files', async () => {
      store = await reopen({ maxOpenFiles: 4 });
      const topics = Array.from({ length: 30 }, (_, i) => `fan/t${i}`);
      await Promise.all(topics.flatMap((t) => [store.append(t, item('a'), 10), store.append(t, item('b'), 10)]));
      assert.ok(store.stats().openFiles <= 4, `openFiles=${store.stats().openFiles}`);
      await reopen();
      for (const t of topics) assert.deepEqual(ids(store, t), ['a', 'b'], t);
    });

    test('writes after close are rejected', async () => {
      await store.close();
      await assert.rejects(store.append('t', item('a'), 10), /closed/);
      store = await open(dir);
    });
  });
}
