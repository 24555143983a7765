// The fair queue (src/limits/fair-queue.ts): a flooding account's backlog waits behind its
// own requests only; lanes are served round-robin; a full lane is refused, not queued.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FairQueue } from '../../src/limits/index.js';

function deferred() {
  let resolve!: () => void;
  const p = new Promise<void>((r) => (resolve = r));
  return { p, resolve };
}
const tick = () => new Promise((r) => setImmediate(r));

test('another account\'s request starts at once while a flooder\'s backlog waits in its own lane', async () => {
  const q = new FairQueue({ total: 100, maxQueuedTotal: 10_000 });
  const started: string[] = [];
  const gates: ReturnType<typeof deferred>[] = [];
  const job = (name: string) => () => {
    started.push(name);
    const g = deferred();
    gates.push(g);
    return g.p.then(() => name);
  };
  const flood = Array.from({ length: 50 }, (_, i) => q.run('flood', { inflight: 4, queue: 100 }, job(`f${i}`)));
  assert.equal(started.length, 4, 'the flooder has 4 in flight; 46 wait');
  assert.deepEqual(q.load, { active: 4, queued: 46, held: 0, lanes: 1 });
  const victim = q.run('victim', { inflight: 4, queue: 100 }, job('v0'));
  assert.equal(started.at(-1), 'v0', 'the victim did not wait behind the backlog');
  gates[4]!.resolve();
  assert.equal(await victim, 'v0');
  for (const g of gates) g.resolve();
  let done = 0;
  while (done < 50) {
    await tick();
    for (const g of gates) g.resolve();
    done = started.filter((s) => s.startsWith('f')).length;
  }
  assert.deepEqual(await Promise.all(flood), Array.from({ length: 50 }, (_, i) => `f${i}`), 'each lane keeps its order');
  await tick();
  assert.deepEqual(q.load, { active: 0, queued: 0, held: 0, lanes: 0 }, 'nothing is left behind');
});

test('when every slot is taken, waiting lanes are served round-robin', async () => {
  const q = new FairQueue({ total: 1, maxQueuedTotal: 100 });
  const order: string[] = [];
  const first = deferred();
  const all = [q.run('a', { inflight: 1, queue: 10 }, () => first.p.then(() => order.push('a0')))];
  for (let i = 1; i <= 3; i++) all.push(q.run('a', { inflight: 1, queue: 10 }, async () => order.push(`a${i}`)));
  for (let i = 0; i < 3; i++) all.push(q.run('b', { inflight: 1, queue: 10 }, async () => order.push(`b${i}`)));
  all.push(q.run('c', { inflight: 1, queue: 10 }, async () => order.push('c0')));
  first.resolve();
  await Promise.all(all);
  assert.deepEqual(order, ['a0', 'b0', 'c0', 'a1', 'b1', 'a2', 'b2', 'a3'], 'a, which just had its turn, goes to the back');
});

test('a full lane refuses at once; the controller-wide bound refuses every lane', async () => {
  const q = new FairQueue({ total: 1, maxQueuedTotal: 3 });
  const hold = deferred();
  const a = q.run('a', { inflight: 1, queue: 2 }, () => hold.p);
  assert.ok(a);
  assert.ok(q.run('a', { inflight: 1, queue: 2 }, () => 1));
  assert.ok(q.run('a', { inflight: 1, queue: 2 }, () => 2));
  assert.equal(q.run('a', { inflight: 1, queue: 2 }, () => 3), null, 'the lane holds 2 waiting');
  assert.ok(q.run('b', { inflight: 1, queue: 2 }, () => 4));
  assert.equal(q.run('c', { inflight: 1, queue: 2 }, () => 5), null, '3 wait in all');
  hold.resolve();
  await a;
});

test('a throwing or rejecting job frees its slot', async () => {
  const q = new FairQueue({ total: 1, maxQueuedTotal: 10 });
  await assert.rejects(q.run('a', { inflight: 1, queue: 1 }, () => { throw new Error('boom'); })!, /boom/);
  await assert.rejects(q.run('a', { inflight: 1, queue: 1 }, () => Promise.reject(new Error('late')))!, /late/);
  assert.equal(await q.run('a', { inflight: 1, queue: 1 }, () => 7), 7);
  assert.deepEqual(q.load, { active: 0, queued: 0, held: 0, lanes: 0 });
});

test('a held request (runAfter) counts against its lane while it waits, then runs; another lane is not touched', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const q = new FairQueue({ total: 100, maxQueuedTotal: 10_000 });
  const lim = { inflight: 1, queue: 2 };
  const ran: string[] = [];
  const a = q.runAfter('a', lim, 500, () => { ran.push('a1'); });
  const b = q.runAfter('a', lim, 1000, () => { ran.push('a2'); });
  assert.ok(a && b);
  assert.equal(q.runAfter('a', lim, 1500, () => undefined), null, 'two held fill a lane of 2');
  assert.deepEqual(q.load, { active: 0, queued: 0, held: 2, lanes: 1 });
  await q.run('v', lim, () => { ran.push('v'); });
  assert.deepEqual(ran, ['v'], 'the other account ran at once');
  t.mock.timers.tick(500);
  await a;
  assert.deepEqual(ran, ['v', 'a1']);
  t.mock.timers.tick(500);
  await b;
  assert.deepEqual(ran, ['v', 'a1', 'a2']);
  await tick();
  assert.deepEqual(q.load, { active: 0, queued: 0, held: 0, lanes: 0 }, 'nothing kept once done');
});
