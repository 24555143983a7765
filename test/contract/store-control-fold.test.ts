// The files control store's background fold (control.ts): the snapshot's text built in slices
// while updates go on is byte for byte the snapshot of the state at its end; a fold interrupted
// after writing its snapshot but before replacing the journal replays exactly the changes made
// after its mark; a failed write fails the store closed.
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openControlStore, readControlState, ControlStoreFailedError, type ControlStoreInternals } from '../../src/store/control.js';
import { changeFrame, headerFrame, markFrame, snapshotHash } from '../../src/store/journal.js';
import { snapshotText } from '../../src/store/json-file.js';
import { SlicedSnapshot } from '../../src/store/snapshot-text.js';

interface State {
  version: number;
  topics: Record<string, { name: string; publishers: string[] }>;
  subscriptions: Record<string, { id: string; n: number; tags?: string[] }>;
  list: number[];
}

describe('control store, files backend: the fold in the background', () => {
  let dir: string;
  beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), 'ctlfold-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  test('a snapshot sliced while the state changes is exactly snapshotText of the state at its end', async () => {
    const state: State = { version: 1, topics: {}, subscriptions: {}, list: [1, 2] };
    for (let i = 0; i < 2000; i++) state.subscriptions[`s${i}`] = { id: `s${i}`, n: i, ...(i % 3 ? {} : { tags: ['a', 'b'] }) };
    for (let i = 0; i < 50; i++) state.topics[`t${i}`] = { name: `t${i}`, publishers: [] };
    state.subscriptions['123'] = { id: 'integer-like keys come first', n: -1 };
    const snap = new SlicedSnapshot(state as unknown as Record<string, unknown>, 0); // yields after every entry
    const built = snap.build();
    let turns = 0;
    let settled = false;
    void built.then(() => void (settled = true));
    for (let i = 0; !settled; i++) {
      // Every kind of change a mutator makes: set, replace, delete, re-add (moves to the end), in place.
      const k = `s${(i * 37) % 2000}`;
      if (i % 5 === 0) { delete state.subscriptions[k]; snap.touch(['subscriptions', k]); }
      else if (i % 5 === 1) { state.subscriptions[`new${i}`] = { id: `new${i}`, n: i }; snap.touch(['subscriptions', `new${i}`]); }
      else if (i % 5 === 2 && state.subscriptions[k]) { state.subscriptions[k]!.n = -i; snap.touch(['subscriptions', k, 'n']); }
      else if (i % 5 === 3 && state.topics[`t${i % 50}`]) { state.topics[`t${i % 50}`]!.publishers.push(`p${i}`); snap.touch(['topics', `t${i % 50}`, 'publishers']); }
      else { state.list = [...state.list, i]; snap.touch(['list']); }
      if (i === 400) { state.topics = { only: { name: 'only', publishers: [] } }; snap.touch(['topics']); }
      turns++;
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(turns > 100, `the build yielded (${turns} turns)`);
    assert.equal(snap.finish(), snapshotText(state));
  });

  test('a fold interrupted after writing its snapshot replays only the changes after its mark', async () => {
    const file = join(dir, 'control.json');
    const s0 = { n: 0, m: { a: 1 } as Record<string, number> };
    const s1 = { n: 1, m: { a: 1, b: 2 } };
    const t0 = snapshotText(s0);
    const t1 = snapshotText(s1);
    await writeFile(`${file}.bak`, t0);
    await writeFile(file, t1);
    await writeFile(`${file}.journal`, Buffer.concat([
      headerFrame(snapshotHash(t0)),
      changeFrame(['[["n"],1]', '[["m","b"],2]']), // in s1 already
      markFrame(snapshotHash(t1)),
      changeFrame(['[["m","a"]]']), // after the mark: not in s1
      changeFrame(['[["m","c"],3]']),
    ]));
    const expected = { n: 1, m: { b: 2, c: 3 } };
    assert.deepEqual(await readControlState(file, s0), expected);
    const s = await openControlStore(file, s0);
    assert.deepEqual(s.data, expected);
    await s.close();
    assert.deepEqual(await readControlState(file, s0), expected);
  });

  test('a mark naming a snapshot that was never put in place is ignored: every record replays', async () => {
    const file = join(dir, 'control.json');
    const t0 = snapshotText({ n: 0 });
    await writeFile(file, t0);
    await writeFile(`${file}.journal`, Buffer.concat([
      headerFrame(snapshotHash(t0)), changeFrame(['[["n"],1]']), markFrame(snapshotHash('{"n":1}')), changeFrame(['[["n"],2]']),
    ]));
    assert.equal((await readControlState(file, { n: 0 })).n, 2);
    const s = await openControlStore(file, { n: 0 });
    assert.equal(s.data.n, 2);
    await s.close();
  });

  test('folds in the background while 50 writers update: every acknowledged change is in every crash image', async () => {
    const file = join(dir, 'control.json');
    const s = await openControlStore(file, { keys: {} as Record<string, number> }, { foldBytes: 4096 });
    const images: Promise<{ at: number; dir: string }>[] = [];
    let acked = 0;
    const ackedKeys: string[] = [];
    await Promise.all(Array.from({ length: 50 }, async (_, w) => {
      for (let i = 0; i < 40; i++) {
        const k = `w${w}-${i}`;
        await s.update((d) => void (d.keys[k] = i));
        ackedKeys.push(k);
        acked++;
        if (acked % 97 === 0) {
          // The files as a kill -9 now would leave them (journal first: a fold replaces it last).
          const at = ackedKeys.length;
          const into = join(dir, `img${acked}`);
          // Read at once (no turn of the event loop between the files), journal first: a fold
          // puts its snapshot in place (after linking the old one as .bak) before the journal.
          mkdirSync(into);
          for (const f of ['control.json.journal', 'control.json.bak', 'control.json']) {
            if (existsSync(join(dir, f))) writeFileSync(join(into, f), readFileSync(join(dir, f)));
          }
          images.push(Promise.resolve({ at, dir: into }));
        }
      }
    }));
    await (s as unknown as ControlStoreInternals).foldsSettled();
    assert.ok((s as unknown as ControlStoreInternals).folds() >= 3, `folds=${(s as unknown as ControlStoreInternals).folds()}`);
    for (const img of await Promise.all(images)) {
      const state = await readControlState(join(img.dir, 'control.json'), { keys: {} as Record<string, number> });
      for (const k of ackedKeys.slice(0, img.at)) assert.ok(k in state.keys, `${k}, acknowledged before image ${img.dir}, is in it`);
    }
    assert.equal(Object.keys(s.data.keys).length, 2000);
    await s.close();
    assert.deepEqual(await readControlState(file, { keys: {} }), s.data);
    JSON.parse(await readFile(file, 'utf8'));
  });

  test('a failed fdatasync fails the store closed: that write and every later change reject, nothing is written after', async () => {
    const file = join(dir, 'control.json');
    const s = await openControlStore(file, { n: 0 });
    await s.update((d) => void (d.n = 1));
    const fh = (s as unknown as { fh: { datasync: () => Promise<void> } }).fh;
    const real = fh.datasync.bind(fh);
    fh.datasync = () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    const failed = s.update((d) => void (d.n = 2));
    const queued = s.update((d) => void (d.n = 3));
    await assert.rejects(failed, (e: unknown) => e instanceof ControlStoreFailedError && /EIO/.test((e as Error).message));
    await assert.rejects(queued, ControlStoreFailedError);
    fh.datasync = real;
    let ran = false;
    await assert.rejects(s.update(() => void (ran = true)), ControlStoreFailedError);
    assert.equal(ran, false, 'a failed store does not apply a change it refuses');
    await s.close();
    const after = await readControlState(file, { n: 0 });
    assert.ok(after.n >= 1, 'every acknowledged change is stored');
  });
});
