// The control stores' change tracker (src/store/change-tracker.ts): for random mutators over a
// JSON state, (1) the state after the mutator equals what the same mutator makes of a copy,
// (2) the change applied to a copy of the state before gives exactly the state after (what
// journal replay and the PostgreSQL rows rely on), (3) a throwing mutator leaves the state
// exactly as it was, and (4) the state never shares objects with what the mutator kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeTracker, applyChanges, isChangeList } from '../../src/store/change-tracker.js';

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let seed = 987654321;
const rnd = (k: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % k);
const key = () => `k${rnd(6)}`;

function randomValue(depth: number): unknown {
  switch (rnd(depth > 2 ? 3 : 6)) {
    case 0: return rnd(100);
    case 1: return `s${rnd(10)}`;
    case 2: return rnd(2) === 0 ? null : true;
    case 3: return Array.from({ length: rnd(4) }, () => randomValue(depth + 1));
    default: {
      const o: J = {};
      for (let i = rnd(4); i > 0; i--) o[key()] = randomValue(depth + 1);
      return o;
    }
  }
}

/** A random walk to a container of `d`, then a random write there. */
function randomOp(d: J): void {
  let cur: any = d; // eslint-disable-line @typescript-eslint/no-explicit-any
  for (let i = rnd(4); i > 0; i--) {
    const keys = Object.keys(cur);
    if (!keys.length) break;
    const next = cur[keys[rnd(keys.length)]!];
    if (typeof next !== 'object' || next === null) break;
    cur = next;
  }
  if (Array.isArray(cur)) {
    switch (rnd(9)) {
      case 0: cur.push(randomValue(2)); break;
      case 1: cur.pop(); break;
      case 2: cur.shift(); break;
      case 3: cur.unshift(randomValue(2)); break;
      case 4: cur.splice(rnd(cur.length + 1), rnd(2), randomValue(2)); break;
      case 5: cur.reverse(); break;
      case 6: cur.length = rnd(cur.length + 1); break;
      case 7: cur.sort((a: unknown, b: unknown) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1); break;
      default: if (cur.length) cur[rnd(cur.length)] = randomValue(2);
    }
  } else {
    switch (rnd(7)) {
      case 0: case 1: cur[key()] = randomValue(1); break;
      case 2: delete cur[key()]; break;
      case 3: Object.assign(cur, { [key()]: randomValue(2), [key()]: rnd(5) }); break;
      case 4: { // move a value from elsewhere (a proxy assigned into the state), then change the original
        const keys = Object.keys(d);
        const from = keys.length ? d[keys[rnd(keys.length)]!] : undefined;
        cur[key()] = from;
        if (from && typeof from === 'object' && !Array.isArray(from)) from[key()] = 'changed-after-move';
        break;
      }
      case 5: Object.defineProperty(cur, key(), { value: rnd(9), enumerable: true, writable: true, configurable: true }); break;
      default: cur[key()] = { ...(cur as J), spread: true };
    }
  }
}

test('random mutators: after = the same mutator on a copy; change applied to before = after; JSON only', () => {
  for (let round = 0; round < 400; round++) {
    const state = randomValue(0) as J;
    const base: J = typeof state === 'object' && state && !Array.isArray(state) ? state : { v: state };
    const before = structuredClone(base);
    const ops = rnd(6) + 1;
    const opSeed = seed;
    const tracker = new ChangeTracker(base);
    for (let i = 0; i < ops; i++) randomOp(tracker.root);
    const { changes, json } = tracker.finish();
    seed = opSeed;
    const reference = JSON.parse(JSON.stringify((() => { const c = structuredClone(before); for (let i = 0; i < ops; i++) randomOp(c); return c; })()));
    assert.deepEqual(base, reference, `round ${round}: tracked state = the same mutator on a copy (JSON)`);
    const replayed = structuredClone(before);
    applyChanges(replayed, changes);
    assert.deepEqual(replayed, base, `round ${round}: before + change = after`);
    const fromJournal = JSON.parse(`[${json.join(',')}]`);
    assert.ok(isChangeList(fromJournal));
    const replayed2 = structuredClone(before);
    applyChanges(replayed2, fromJournal);
    assert.deepEqual(replayed2, base, `round ${round}: before + change read back from its JSON = after`);
  }
});

test('random mutators that throw: the state is exactly as before', () => {
  for (let round = 0; round < 300; round++) {
    const base = { a: randomValue(1), b: randomValue(1), c: { d: randomValue(1) } } as J;
    const before = structuredClone(base);
    const tracker = new ChangeTracker(base);
    try {
      for (let i = rnd(8) + 1; i > 0; i--) randomOp(tracker.root);
      throw new Error('boom');
    } catch {
      tracker.undo();
    }
    assert.deepEqual(base, before, `round ${round}`);
  }
});

test('the change names only what changed: one entry of a large map', () => {
  const state: J = { version: 1, subs: {} };
  for (let i = 0; i < 10000; i++) state.subs[`s${i}`] = { topic: 't', labels: ['a'] };
  const t = new ChangeTracker(state);
  t.root.subs.s5.labels.push('b');
  t.root.subs.new = { topic: 'u', labels: [] };
  delete t.root.subs.s9;
  const { changes } = t.finish();
  assert.deepEqual(changes, [[['subs', 's5', 'labels'], ['a', 'b']], [['subs', 'new'], { topic: 'u', labels: [] }], [['subs', 's9']]]);
});

test('a written path under a replaced one is covered by it; what the mutator kept is a copy; refusals', () => {
  const state: J = { m: { a: { x: 1 } } };
  const mine = { x: 2, deep: { y: 3 } };
  const t = new ChangeTracker(state);
  t.root.m.a.x = 5;
  t.root.m = { b: mine };
  t.root.m.b.deep.y = 4; // inside the mutator: reaches the state
  const { changes } = t.finish();
  assert.deepEqual(changes, [[['m'], { b: { x: 2, deep: { y: 4 } } }]]);
  mine.deep.y = 99; // after it: does not
  assert.equal(state.m.b.deep.y, 4);
  assert.throws(() => void (t.root.z = 1), /outside its update/);
  const u = new ChangeTracker({} as J);
  assert.throws(() => void (u.root[Symbol('s') as unknown as string] = 1), /symbol/);
  assert.throws(() => Object.setPrototypeOf(u.root, null), /prototypes/);
  assert.throws(() => Object.freeze(u.root), /freeze/);
  const v = new ChangeTracker({ n: 1 } as J);
  v.root.n = undefined;
  v.root.f = () => 1;
  v.root.nan = NaN;
  const r = v.finish();
  assert.deepEqual(r.changes, [[['n']], [['f']], [['nan'], null]], 'JSON semantics: undefined and functions are absent, NaN is null');
});
