import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoalescingWriter } from '../../src/store/control.js';

/** A write we finish by hand, so the test controls exactly what is "in flight". */
function manualWrites() {
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  let started = 0;
  const write = () => new Promise<void>((resolve, reject) => { started++; pending.push({ resolve, reject }); });
  const next = async () => { while (pending.length === 0) await new Promise((r) => setImmediate(r)); return pending.shift()!; };
  return { write, next, started: () => started };
}

test('requests during an in-flight write share the one write that follows it', async () => {
  const m = manualWrites();
  const w = new CoalescingWriter(m.write);
  const first = w.request();
  const burst = Array.from({ length: 10 }, () => w.request());
  assert.equal(m.started(), 1);
  (await m.next()).resolve();
  await first;
  (await m.next()).resolve();
  await Promise.all(burst);
  assert.equal(m.started(), 2);
  await w.idle();
});

test('a request is not resolved by a write that started before it', async () => {
  const m = manualWrites();
  const w = new CoalescingWriter(m.write);
  void w.request();
  let laterDone = false;
  const later = w.request().then(() => void (laterDone = true));
  (await m.next()).resolve();
  await new Promise((r) => setImmediate(r));
  assert.equal(laterDone, false, 'still waiting for its own write');
  (await m.next()).resolve();
  await later;
  assert.equal(laterDone, true);
});

test('a failed write rejects its own waiters only; the next write proceeds', async () => {
  const m = manualWrites();
  const w = new CoalescingWriter(m.write);
  const first = w.request();
  const second = w.request();
  (await m.next()).reject(new Error('ENOSPC'));
  await assert.rejects(first, /ENOSPC/);
  (await m.next()).resolve();
  await second;
  await w.idle();
  assert.equal(m.started(), 2);
});
