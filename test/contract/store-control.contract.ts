// The control store contract: every backend of ControlStore runs this suite.
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ControlStoreCorruptError, type ControlStore, type ControlStoreOptions } from '../../src/store/types.js';

export type ControlFactory = <T>(file: string, defaults: T, opts?: ControlStoreOptions) => Promise<ControlStore<T>>;

interface State {
  accounts: Record<string, { state: string }>;
  n: number;
}
const defaults = (): State => ({ accounts: {}, n: 0 });

function captureLog(): { log: ControlStoreOptions['log']; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) }), lines };
}

export function controlStoreContract(name: string, open: ControlFactory): void {
  describe(`control store contract: ${name}`, () => {
    let dir: string;
    let file: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ctl-'));
      file = join(dir, 'sub', 'control.json');
    });
    afterEach(() => rm(dir, { recursive: true, force: true }));

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

    test('update resolves only once the change is in the file', async () => {
      const s = await open(file, defaults());
      await s.update((x) => void (x.n = 42));
      assert.equal(JSON.parse(await readFile(file, 'utf8')).n, 42);
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
      assert.equal(Object.keys(JSON.parse(await readFile(file, 'utf8')).accounts).length, 50);
      await s.close();
    });

    test('.bak holds the previous state after a write', async () => {
      const s = await open(file, defaults());
      await s.update((x) => void (x.n = 1));
      await s.update((x) => void (x.n = 2));
      assert.equal(JSON.parse(await readFile(`${file}.bak`, 'utf8')).n, 1);
      await s.close();
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
        const s = await open(file, defaults());
        await s.update((x) => void (x.n = 1));
        await s.update((x) => void (x.n = 2));
        await s.close();
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
        const s = await open(file, defaults());
        await s.update((x) => void (x.n = 1));
        await s.update((x) => void (x.n = 2));
        await s.close();
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

    test('update after close is rejected', async () => {
      const s = await open(file, defaults());
      await s.close();
      await assert.rejects(s.update((x) => void (x.n = 1)), /closed/);
    });
  });
}
