// The files backend's own behaviour: its snapshot (`<file>`, lowdb), `.bak`, corrupt snapshots
// (store.control_on_corrupt), and the journal of changes since the snapshot (issue 13.1): what a
// change costs, replay after a crash, torn tails, damage, interrupted folds, foreign journals.
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile, readdir, copyFile, mkdir, appendFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openControlStore, readControlState, ControlJournalCorruptError, type ControlStoreInternals, type OpenControlOptions } from '../../src/store/control.js';
import { encodeJournalFrame, scanJournal } from '../../src/store/journal.js';
import { ControlStoreCorruptError, type ControlStore, type ControlStoreOptions } from '../../src/store/types.js';

interface State {
  accounts: Record<string, { state: string }>;
  n: number;
}
const defaults = (): State => ({ accounts: {}, n: 0 });
const open = <T>(file: string, d: T, opts?: OpenControlOptions): Promise<ControlStore<T>> => openControlStore(file, d, opts);
const internals = (s: ControlStore<unknown>) => s as unknown as ControlStoreInternals;

function captureLog(): { log: ControlStoreOptions['log']; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'info' }, { write: (s: string) => void lines.push(s) }), lines };
}

describe('control store, files backend: snapshot, .bak and corrupt files', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctlf-'));
    file = join(dir, 'sub', 'control.json');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** Two snapshots: n=1 (becomes .bak), then n=2 (the file). */
  async function twoSnapshots(): Promise<void> {
    for (const n of [1, 2]) {
      const s = await open(file, defaults());
      await s.update((x) => void (x.n = n));
      await s.close();
    }
  }

  // Was "after a write": the snapshot is now written by a fold (here: at close), not by every update.
  test('.bak holds the previous snapshot after a fold', async () => {
    await twoSnapshots();
    assert.equal(JSON.parse(await readFile(`${file}.bak`, 'utf8')).n, 1);
    assert.equal(JSON.parse(await readFile(file, 'utf8')).n, 2);
  });

  const corrupt: [string, string][] = [
    ['empty file', ''],
    ['garbage', 'not json at all'],
    ['torn JSON', '{"accounts": {"a": {"sta'],
    ['JSON null', 'null'],
  ];
  for (const [what, text] of corrupt) {
    test(`a corrupt file (${what}) without .bak is refused, never opened empty`, async () => {
      const s = await open(file, defaults());
      await s.update((x) => void (x.n = 1));
      await s.close();
      await rm(`${file}.bak`, { force: true });
      await writeFile(file, text);
      await assert.rejects(open(file, defaults()), (e: unknown) => {
        assert.ok(e instanceof ControlStoreCorruptError);
        assert.match(e.message, /control\.json/);
        return true;
      });
    });

    test(`a corrupt file (${what}) is refused by default, naming .bak and how to restore it, changing nothing`, async () => {
      await twoSnapshots();
      await writeFile(file, text);
      await assert.rejects(open(file, defaults()), (e: unknown) => {
        assert.ok(e instanceof ControlStoreCorruptError);
        assert.equal(e.backup?.path, `${file}.bak`);
        assert.ok(e.message.includes(`cp -p ${file}.bak ${file}`), e.message);
        assert.ok(!e.message.includes('\n'), 'one line');
        return true;
      });
      assert.equal(await readFile(file, 'utf8'), text, 'the damaged file is left as it was');
      assert.equal(JSON.parse(await readFile(`${file}.bak`, 'utf8')).n, 1);
      assert.ok(!(await readdir(join(dir, 'sub'))).some((n) => n.includes('.corrupt-')));
    });

    test(`a corrupt file (${what}) falls back to .bak when allowed, logged at error, and keeps .bak good`, async () => {
      await twoSnapshots();
      await writeFile(file, text);
      const { log, lines } = captureLog();
      const r = await open(file, defaults(), { log, onCorrupt: 'backup' });
      assert.ok(lines.some((l) => JSON.parse(l).level === 50), 'at error');
      assert.equal(r.source, 'backup');
      assert.equal(r.data.n, 1);
      assert.ok(lines.some((l) => /\.bak/.test(l)), 'the fallback is logged');
      assert.ok((await readdir(join(dir, 'sub'))).some((n) => n.startsWith('control.json.corrupt-')), 'bad file kept aside');
      await r.update((x) => void (x.n = 3));
      assert.equal(JSON.parse(await readFile(`${file}.bak`, 'utf8')).n, 1, 'the corrupt file never becomes .bak');
      await r.close();
      const again = await open(file, defaults());
      assert.equal(again.source, 'file');
      assert.equal(again.data.n, 3);
      await again.close();
    });
  }

  test('temp files of dead writers are removed at open', async () => {
    const s = await open(file, defaults());
    await s.update((x) => void (x.n = 1));
    await s.close();
    await writeFile(`${file}.tmp-999999999`, '{"half":');
    const r = await open(file, defaults());
    assert.equal(r.data.n, 1);
    assert.ok(!(await readdir(join(dir, 'sub'))).some((n) => n.includes('.tmp-')));
    await r.close();
  });
});

describe('control store, files backend: the journal', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctlj-'));
    file = join(dir, 'control.json');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** What a kill -9 would leave right now: the snapshot and journal, copied while the store is open. */
  async function crashImage(into: string): Promise<string> {
    await mkdir(into, { recursive: true });
    for (const f of await readdir(dir)) {
      if (f.startsWith('control.json')) await copyFile(join(dir, f), join(into, f));
    }
    return join(into, 'control.json');
  }

  test('an update appends only its change: the snapshot is not rewritten, the record names only what changed', async () => {
    const big: State = { accounts: {}, n: 0 };
    for (let i = 0; i < 5000; i++) big.accounts[`node${i}@grid.test`] = { state: 'approved' };
    await writeFile(file, JSON.stringify(big));
    const s = await open(file, defaults());
    const snapshot = await readFile(file);
    const before = (await stat(`${file}.journal`)).size;
    await s.update((x) => void (x.accounts['node7@grid.test']!.state = 'suspended'));
    await s.update((x) => void (x.accounts['new@grid.test'] = { state: 'pending' }));
    await s.update((x) => void delete x.accounts['node9@grid.test']);
    assert.deepEqual(await readFile(file), snapshot, 'the snapshot is untouched');
    const grown = (await stat(`${file}.journal`)).size - before;
    assert.ok(grown < 300, `three small changes cost ${grown} bytes of journal`);
    const scan = scanJournal(await readFile(`${file}.journal`), 'j');
    assert.deepEqual(scan.records, [
      [[['accounts', 'node7@grid.test', 'state'], 'suspended']],
      [[['accounts', 'new@grid.test'], { state: 'pending' }]],
      [[['accounts', 'node9@grid.test']]],
    ]);
    assert.equal(internals(s).journalRecords(), 3);
    await s.close();
  });

  test('a crash image (snapshot + journal) replays to exactly the acknowledged state, then folds', async () => {
    const s = await open(file, defaults());
    for (let i = 0; i < 20; i++) await s.update((x) => { x.n = i; x.accounts[`a${i}`] = { state: 'pending' }; if (i > 5) delete x.accounts[`a${i - 5}`]; });
    const expected = structuredClone(s.data);
    const img = await crashImage(join(dir, 'img'));
    const { log, lines } = captureLog();
    const r = await open(img, defaults(), { log });
    assert.deepEqual(r.data, expected);
    assert.ok(lines.some((l) => /journal replayed/.test(l)));
    assert.equal(internals(r).journalRecords(), 0, 'folded at open');
    assert.deepEqual(JSON.parse(await readFile(img, 'utf8')), expected, 'the fold wrote the snapshot');
    await r.close();
    await s.close();
  });

  const torn: [string, (frame: Buffer) => Buffer][] = [
    ['a cut-off frame body', (f) => f.subarray(0, f.length - 3)],
    ['a cut-off frame header', (f) => f.subarray(0, 5)],
    ['a zero-filled tail', (f) => Buffer.alloc(f.length)],
    ['a last frame with a bad checksum', (f) => { const b = Buffer.from(f); b[b.length - 2] ^= 0xff; return b; }],
  ];
  for (const [what, tear] of torn) {
    test(`a torn tail (${what}) is cut, kept aside and logged; every whole record before it is replayed`, async () => {
      const s = await open(file, defaults());
      await s.update((x) => void (x.n = 1));
      await s.update((x) => void (x.accounts.a = { state: 'approved' }));
      const img = await crashImage(join(dir, 'img'));
      await appendFile(`${img}.journal`, tear(encodeJournalFrame('{"k":"ch","c":[[["n"],999]]}')));
      const { log, lines } = captureLog();
      const r = await open(img, defaults(), { log });
      assert.deepEqual(r.data, { n: 1, accounts: { a: { state: 'approved' } } });
      assert.ok(lines.some((l) => JSON.parse(l).level === 40 && /torn tail/.test(l)), 'logged at warn');
      assert.ok((await readdir(join(dir, 'img'))).some((n) => n.startsWith('control.json.journal.torn-')), 'the cut bytes are kept');
      await r.update((x) => void (x.n = 2));
      await r.close();
      assert.equal((await readControlState(img, defaults())).n, 2);
      await s.close();
    });
  }

  test('damage (a bad frame with records after it) is refused by default, naming the journal; nothing changes', async () => {
    const s = await open(file, defaults());
    for (let i = 1; i <= 4; i++) await s.update((x) => void (x.n = i));
    const img = await crashImage(join(dir, 'img'));
    const j = await readFile(`${img}.journal`);
    const second = scanJournal(j, 'j');
    assert.equal(second.records.length, 4);
    // Flip a byte inside the second record's body.
    const headerLen = 8 + j.readUInt32LE(0);
    const firstRec = 8 + j.readUInt32LE(headerLen);
    const bad = Buffer.from(j);
    bad[headerLen + firstRec + 10] ^= 0x01;
    await writeFile(`${img}.journal`, bad);
    await assert.rejects(open(img, defaults()), (e: unknown) => {
      assert.ok(e instanceof ControlJournalCorruptError && e instanceof ControlStoreCorruptError);
      assert.ok(e.message.includes(`${img}.journal`) && /damaged at byte/.test(e.message) && /control_on_corrupt: backup/.test(e.message), e.message);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    assert.deepEqual(await readFile(`${img}.journal`), bad, 'left as it was');
    const { log, lines } = captureLog();
    const r = await open(img, defaults(), { log, onCorrupt: 'backup' });
    assert.equal(r.data.n, 1, 'the record before the damage is kept');
    assert.ok(lines.some((l) => JSON.parse(l).level === 50 && /journal damaged/.test(l)));
    assert.ok((await readdir(join(dir, 'img'))).some((n) => n.startsWith('control.json.journal.corrupt-')), 'kept aside');
    await r.close();
    await s.close();
  });

  test('a fold interrupted after the snapshot rename: the stale journal is not replayed twice', async () => {
    const s = await open(file, defaults());
    await s.update((x) => void (x.accounts.a = { state: 'pending' }));
    await s.update((x) => void delete x.accounts.a);
    const oldJournal = await readFile(`${file}.journal`);
    await s.update((x) => void (x.accounts.a = { state: 'approved' }));
    await s.close(); // folds: the snapshot holds everything, .bak the snapshot the old journal was based on
    await writeFile(`${file}.journal`, oldJournal); // as if the crash came before the new journal's rename
    const { log, lines } = captureLog();
    const r = await open(file, defaults(), { log });
    assert.deepEqual(r.data.accounts, { a: { state: 'approved' } }, 'the snapshot alone: the old records are already in it');
    assert.ok(lines.some((l) => /already folded/.test(l)));
    await r.close();
  });

  test('a journal under a snapshot replaced by hand is refused (with the command to drop it), or dropped with backup', async () => {
    const s = await open(file, defaults());
    await s.update((x) => void (x.n = 5));
    const img = await crashImage(join(dir, 'img'));
    await s.close();
    await writeFile(img, JSON.stringify({ accounts: {}, n: 100 })); // edited while "stopped", journal still holding n=5
    await assert.rejects(open(img, defaults()), (e: unknown) => {
      assert.ok(e instanceof ControlJournalCorruptError);
      assert.ok(e.message.includes(`mv ${img}.journal ${img}.journal.dropped`), e.message);
      return true;
    });
    const r = await open(img, defaults(), { onCorrupt: 'backup', log: captureLog().log });
    assert.equal(r.data.n, 100);
    await r.close();
  });

  test('a damaged snapshot under a journal with changes: the refusal says those changes go with it; backup sets them aside', async () => {
    for (const n of [1, 2]) {
      const s0 = await open(file, defaults());
      await s0.update((x) => void (x.n = n));
      await s0.close();
    }
    const s = await open(file, defaults());
    await s.update((x) => void (x.n = 3));
    const img = await crashImage(join(dir, 'img'));
    await s.close();
    await writeFile(img, '{"accounts": {"a": {"sta');
    await assert.rejects(open(img, defaults()), (e: unknown) => {
      assert.ok(e instanceof ControlStoreCorruptError);
      assert.ok(e.message.includes(`cp -p ${img}.bak ${img}`) && e.message.includes(`mv ${img}.journal ${img}.journal.dropped`) && /holds 1 later changes/.test(e.message), e.message);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    const { log, lines } = captureLog();
    const r = await open(img, defaults(), { log, onCorrupt: 'backup' });
    assert.equal(r.data.n, 1, 'the .bak snapshot (n=2 was the damaged file, n=3 its journal)');
    assert.ok(lines.some((l) => /journal belongs to the damaged file/.test(l)));
    assert.ok((await readdir(join(dir, 'img'))).some((x) => x.startsWith('control.json.journal.corrupt-')));
    await r.close();
  });

  test('an edit by hand while stopped (journal empty after a clean close) is simply read', async () => {
    const s = await open(file, defaults());
    await s.update((x) => void (x.n = 5));
    await s.close();
    await writeFile(file, JSON.stringify({ accounts: {}, n: 6 }));
    const r = await open(file, defaults());
    assert.equal(r.data.n, 6);
    await r.update((x) => void (x.n = 7));
    assert.equal((await readControlState(file, defaults())).n, 7);
    await r.close();
  });

  test('a snapshot from before the journal (no journal file) opens unchanged and gets a journal', async () => {
    await writeFile(file, JSON.stringify({ accounts: { a: { state: 'approved' } }, n: 3 }));
    const bytes = await readFile(file);
    const s = await open(file, defaults());
    assert.equal(s.source, 'file');
    assert.equal(s.data.n, 3);
    await s.close();
    assert.deepEqual(await readFile(file), bytes, 'nothing changed: nothing is rewritten');
    assert.ok((await readdir(dir)).includes('control.json.journal'));
  });

  test('the journal is folded into the snapshot once it outgrows it; writes keep their order across folds', async () => {
    const s = await open(file, defaults(), { foldBytes: 2000 });
    const done: Promise<void>[] = [];
    for (let i = 1; i <= 400; i++) done.push(s.update((x) => { x.n = i; x.accounts[`k${i % 37}`] = { state: `s${i}` }; }));
    await Promise.all(done);
    await internals(s).foldsSettled(); // folds run in the background, beside the appends
    assert.ok(internals(s).folds() >= 2, `folds=${internals(s).folds()}`);
    assert.ok(internals(s).journalBytes() <= 2000 + 500, `journal ${internals(s).journalBytes()} bytes`);
    const snap = JSON.parse(await readFile(file, 'utf8')) as State;
    assert.ok(snap.n > 1, 'the snapshot was rewritten by a fold');
    assert.deepEqual(await readControlState(file, defaults()), s.data);
    await s.close();
  });
});
