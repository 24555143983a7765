// A failed write of the PostgreSQL control store (issue 13): the change it carried was refused
// to its caller, so it must never be stored later with another write, and memory must not keep
// it. On a real PostgreSQL, a trigger makes the write of one map entry fail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PgControlStore, PgControlStoreFailedError, readPgControlState } from '../../src/store/pg/control.js';
import { pgFixture, type PgFixture } from '../helpers/pg-fixture.js';

interface S { subs: Record<string, { topic: string }>; version: number }
const EMPTY: S = { subs: {}, version: 1 };

let fx: PgFixture;
before(async () => {
  fx = await pgFixture();
  const pool = await fx.poolFor('failure');
  // Refuses any row whose entry key starts with 'bad' (PostgreSQL aborts the whole transaction).
  await pool.query(`CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.path[2] LIKE 'bad%' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; RETURN NEW; END $$`);
  await pool.query('CREATE TRIGGER refuse_bad BEFORE INSERT OR UPDATE ON control_rows FOR EACH ROW EXECUTE FUNCTION refuse_bad()');
});
after(() => fx.close());

test('a failed write is not stored with the next one; changes are refused until the stored state is read back, which undoes it', async () => {
  const pool = await fx.poolFor('failure');
  let asked = 0;
  const st = await PgControlStore.open<S>(pool, 'subs-a', structuredClone(EMPTY), { onWriteFailed: () => void asked++ });
  await st.update((d) => void (d.subs.good1 = { topic: 't1' }));

  // The failing change and one queued behind it (made while the failing write is in flight).
  const bad = st.update((d) => void (d.subs.bad = { topic: 't2' }));
  const behind = st.update((d) => void (d.subs.behind = { topic: 't3' }));
  await assert.rejects(bad, PgControlStoreFailedError);
  await assert.rejects(behind, PgControlStoreFailedError);
  assert.ok(asked >= 1, 'the owner was asked to read the state back');

  // Refused, and not applied, until the read.
  await assert.rejects(st.update((d) => void (d.subs.meanwhile = { topic: 't4' })), /refused until the stored state has been read back/);
  assert.equal(st.data.subs.meanwhile, undefined);

  await st.refreshAll();
  assert.deepEqual(Object.keys(st.data.subs).sort(), ['good1'], 'memory holds what is stored: the refused changes are undone');

  await st.update((d) => void (d.subs.good2 = { topic: 't5' }));
  await st.update((d) => void (d.version = 2));
  const stored = await readPgControlState(pool, 'subs-a', EMPTY);
  assert.deepEqual(Object.keys(stored.subs).sort(), ['good1', 'good2'], 'the refused entries were never written by a later write');
  assert.equal(stored.version, 2);
  await st.close();

  // A store opened afterwards sees the same.
  const again = await PgControlStore.open<S>(pool, 'subs-a', structuredClone(EMPTY));
  assert.deepEqual(Object.keys(again.data.subs).sort(), ['good1', 'good2']);
  await again.close();
});

test('a whole-key change refused with a failed batch is undone too', async () => {
  const pool = await fx.poolFor('failure');
  const st = await PgControlStore.open<S>(pool, 'subs-b', structuredClone(EMPTY));
  // One batch: a top-level key and an entry the trigger refuses. Neither may be stored.
  const a = st.update((d) => void (d.version = 7));
  const b = st.update((d) => void (d.subs.bad2 = { topic: 'x' }));
  const results = await Promise.allSettled([a, b]);
  // The first may have been written on its own before the second was queued; the second never.
  assert.equal(results[1]!.status, 'rejected');
  await st.refreshAll();
  const stored = await readPgControlState(pool, 'subs-b', EMPTY);
  assert.deepEqual(st.data, stored, 'memory equals what is stored after the read');
  assert.equal(stored.subs.bad2, undefined);
  assert.equal(results[0]!.status === 'fulfilled', stored.version === 7, 'version 7 is stored exactly when its update was acknowledged');
  await st.close();
});
