// The control store contract: every backend of ControlStore runs this suite (the files store:
// store-control.test.ts; PostgreSQL: store-control-pg.test.ts). What only the files backend
// has (its snapshot, `.bak`, journal, corrupt files) is tested in store-control-files.test.ts.
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlStore, ControlStoreOptions } from '../../src/store/types.js';

export type ControlFactory = <T>(name: string, defaults: T, opts?: ControlStoreOptions) => Promise<ControlStore<T>>;

/** One backend as the suite drives it. */
export interface ControlBackend {
  open: ControlFactory;
  /** The state as a new process would find it now, read without the store (and without writing). */
  durable<T>(name: string, defaults: T): Promise<T>;
  /** A fresh place for a store: its name, and how to remove it. */
  location(): Promise<{ name: string; cleanup(): Promise<void> }>;
}

interface State {
  accounts: Record<string, { state: string }>;
  n: number;
}
const defaults = (): State => ({ accounts: {}, n: 0 });

export function controlStoreContract(name: string, backend: ControlBackend): void {
  const { open } = backend;
  describe(`control store contract: ${name}`, () => {
    let file: string;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      const l = await backend.location();
      file = l.name;
      cleanup = l.cleanup;
    });
    afterEach(() => cleanup());

    test('a missing file opens with (a copy of) the defaults', async () => {
      const d = defaults();
      const s = await open(file, d);
      assert.equal(s.source, 'defaults');
      await s.update((x) => void (x.n = 5));
      assert.equal(d.n, 0, 'the defaults object given is not mutated');
      await s.close();
    });

    test('state survives close and reopen', async () => {
      const s = await open(file, defaults());
      await s.update((x) => void (x.accounts['a@grid.test'] = { state: 'approved' }));
      await s.close();
      const r = await open(file, defaults());
      assert.equal(r.source, 'file');
      assert.deepEqual(r.data.accounts, { 'a@grid.test': { state: 'approved' } });
      await r.close();
    });

    // Was "...in the file" (read back with readFile): the files store now appends the change to
    // its journal (issue 13.1), so what a new process would read is checked instead.
    test('update resolves only once the change is durable', async () => {
      const s = await open(file, defaults());
      await s.update((x) => void (x.n = 42));
      assert.equal((await backend.durable(file, defaults())).n, 42);
      await s.close();
    });

    test('a throwing mutator changes nothing', async () => {
      const s = await open(file, defaults());
      await s.update((x) => void (x.n = 1));
      await assert.rejects(s.update((x) => { x.n = 99; throw new Error('nope'); }), /nope/);
      assert.equal(s.data.n, 1);
      await s.close();
    });

    test('a burst of updates is coalesced into at most two writes, each resolved durably', async () => {
      let writes = 0;
      const s = await open(file, defaults(), { onWrite: () => writes++ });
      const done = Array.from({ length: 50 }, (_, i) => s.update((x) => void (x.accounts[`n${i}`] = { state: 'pending' })));
      await Promise.all(done);
      assert.ok(writes >= 1 && writes <= 2, `writes=${writes}`);
      assert.equal(Object.keys((await backend.durable(file, defaults())).accounts).length, 50);
      await s.close();
    });

    test('a throwing mutator changes nothing, however deep it wrote first', async () => {
      const s = await open(file, { ...defaults(), deep: { list: [1, 2, 3], map: { a: { b: 1 } } as Record<string, { b: number }> } });
      await s.update((x) => void (x.accounts.a = { state: 'approved' }));
      const before = structuredClone(s.data);
      await assert.rejects(s.update((x) => {
        x.deep.list.push(4);
        x.deep.list.shift();
        x.deep.list.reverse();
        x.deep.map.a!.b = 9;
        delete x.deep.map.a;
        x.deep.map.c = { b: 3 };
        x.accounts = {};
        x.n = 7;
        throw new Error('halfway');
      }), /halfway/);
      assert.deepEqual(s.data, before);
      await s.close();
      const r = await open(file, { ...defaults(), deep: { list: [] as number[], map: {} as Record<string, { b: number }> } });
      assert.deepEqual(r.data, before);
      await r.close();
    });

    test('what a mutator stores is a copy: the caller keeps no handle on the state', async () => {
      const s = await open(file, defaults());
      const mine = { state: 'pending' };
      await s.update((x) => void (x.accounts.a = mine));
      mine.state = 'changed behind the store';
      assert.equal(s.data.accounts.a!.state, 'pending');
      let kept: State | undefined;
      await s.update((x) => void (kept = x));
      assert.throws(() => void (kept!.n = 5), /outside its update/);
      assert.equal(s.data.n, 0);
      await s.close();
    });

    test('random nested changes: memory, durable state and a reopened store always agree', async () => {
      type Doc = { version: 1; topics: Record<string, { name: string; publishers: string[]; cfg: { max: number; tags?: string[] } }>; subs: Record<string, { topic: string; filter: { labels: string[] } | null }>; n: number };
      const empty = (): Doc => ({ version: 1, topics: {}, subs: {}, n: 0 });
      let seed = 12345;
      const rnd = (k: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % k);
      let s = await open(file, empty());
      const ops: ((d: Doc) => void)[] = [
        (d) => { const t = `t${rnd(20)}`; d.topics[t] = { name: t, publishers: [], cfg: { max: rnd(100) } }; },
        (d) => { const t = d.topics[`t${rnd(20)}`]; if (t) t.publishers.push(`p${rnd(5)}`); },
        (d) => { const t = d.topics[`t${rnd(20)}`]; if (t) t.publishers = t.publishers.filter((p) => p !== 'p1'); },
        (d) => { const t = d.topics[`t${rnd(20)}`]; if (t) t.cfg.tags = ['a', `b${rnd(3)}`]; },
        (d) => { const t = d.topics[`t${rnd(20)}`]; if (t) delete t.cfg.tags; },
        (d) => { delete d.topics[`t${rnd(20)}`]; },
        (d) => { const id = `s${rnd(50)}`; d.subs[id] = { topic: `t${rnd(20)}`, filter: rnd(2) ? { labels: [`l${rnd(9)}`] } : null }; },
        (d) => { const sub = d.subs[`s${rnd(50)}`]; if (sub?.filter) sub.filter.labels.splice(0, 1, 'x', 'y'); },
        (d) => { delete d.subs[`s${rnd(50)}`]; },
        (d) => { d.n++; },
        (d) => { const a = d.topics[`t${rnd(20)}`]; if (a) { d.topics.moved = { ...a, name: 'moved' }; a.cfg.max = -1; } },
        (d) => { if (rnd(10) === 0) d.subs = {}; },
      ];
      for (let round = 0; round < 6; round++) {
        const pending: Promise<void>[] = [];
        for (let i = 0; i < 60; i++) {
          const picks = Array.from({ length: 1 + rnd(3) }, () => ops[rnd(ops.length)]!);
          pending.push(s.update((d) => { for (const op of picks) op(d); }));
        }
        await Promise.all(pending);
        const memory = structuredClone(s.data);
        assert.deepEqual(await backend.durable(file, empty()), memory, `round ${round}: durable state = memory`);
        await s.close();
        s = await open(file, empty());
        assert.deepEqual(s.data, memory, `round ${round}: reopened = memory`);
      }
      await s.close();
    });

    test('update after close is rejected', async () => {
      const s = await open(file, defaults());
      await s.close();
      await assert.rejects(s.update((x) => void (x.n = 1)), /closed/);
    });
  });
}
