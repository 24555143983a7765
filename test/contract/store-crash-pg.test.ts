// Real crashes on the PostgreSQL store: a child process writes through it in a loop, printing
// each acknowledged write, and is SIGKILLed mid-run; a fresh store then must hold every
// acknowledged write. Two children at once on the same topics are two instances: the seqs of
// a topic must come out with no gap and no repeat across them.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PgItemStore } from '../../src/store/pg/items.js';
import { PgControlStore } from '../../src/store/pg/control.js';
import { killAfter, startChild } from '../helpers/store-spawn.js';
import { pgFixture, type PgFixture } from '../helpers/pg-fixture.js';

const ROUNDS = 3;

describe('crash (SIGKILL) while writing to PostgreSQL', { timeout: 180_000 }, () => {
  let fx: PgFixture;
  before(async () => void (fx = await pgFixture()));
  after(() => fx.close());

  test('item store: every acknowledged append survives, seqs keep rising and are never handed out twice', async () => {
    const pool = await fx.poolFor('items');
    const acked: { topic: string; seq: number; id: string }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const l of await killAfter('pg-items', fx.urlFor('items'), 200 + round * 97)) {
        const [t, seq, id] = l.split(' ');
        acked.push({ topic: t === 'A' ? 'crash/A' : 'crash/B', seq: Number(seq), id: id! });
      }
      const s = await PgItemStore.open(pool);
      for (const a of acked.filter((x) => x.topic === 'crash/A')) assert.equal(s.get('crash/A', a.id)?.seq, a.seq, `acknowledged ${a.id} (seq ${a.seq}) is stored`);
      const seqsA = acked.filter((x) => x.topic === 'crash/A').map((x) => x.seq);
      assert.equal(new Set(seqsA).size, seqsA.length, 'no seq handed out twice, across crashes');
      assert.ok(s.highSeq('crash/A') >= Math.max(...seqsA));
      await s.close();
    }
  });

  test('two instances appending to the same topics at once, both killed: seqs 1..high with no gap and no repeat', async () => {
    const pool = await fx.poolFor('two');
    const a = startChild('pg-items', fx.urlFor('two'));
    const b = startChild('pg-items', fx.urlFor('two'));
    await Promise.all([a.lines(300), b.lines(300)]);
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
    const lines = [...(await a.closed).lines, ...(await b.closed).lines];
    const s = await PgItemStore.open(pool);
    const stored = s.list('crash/A').map((i) => i.seq);
    // Topic A is never trimmed: every seq ever assigned is stored, once.
    assert.deepEqual(stored, Array.from({ length: s.highSeq('crash/A') }, (_, i) => i + 1));
    const ackedA = lines.filter((l) => l.startsWith('A ')).map((l) => Number(l.split(' ')[1]));
    assert.equal(new Set(ackedA).size, ackedA.length, 'no seq acknowledged to both instances');
    for (const l of lines.filter((x) => x.startsWith('A '))) {
      const [, seq, id] = l.split(' ');
      assert.equal(s.get('crash/A', id!)?.seq, Number(seq));
    }
    await s.close();
  });

  test('control store: every acknowledged small change (set or delete) survives kills', async () => {
    const pool = await fx.poolFor('control');
    const present = new Set<string>();
    const gone = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const l of await killAfter('pg-control-map', fx.urlFor('control'), 200 + round * 53)) {
        const [, k, del] = l.split(' ');
        if (!k!.endsWith('0')) present.add(k!);
        if (del !== '-') { present.delete(del!); gone.add(del!); }
      }
      const s = await PgControlStore.open(pool, 'map', { keys: {} as Record<string, unknown> });
      assert.equal(s.source, 'file', 'stored state, not the defaults');
      for (const k of present) assert.ok(Object.hasOwn(s.data.keys, k), `acknowledged ${k} is stored`);
      for (const k of gone) assert.ok(!Object.hasOwn(s.data.keys, k), `acknowledged delete of ${k} holds`);
      await s.close();
    }
  });
});
