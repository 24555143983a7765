// The agent's catch-up (catchup.ts) and its state file (state-file.ts): exactly once, in seq
// order, across live items racing the §7 query, a lost connection and a restart. The client
// here is scripted (the integration test runs the same code against Prosody).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Follower, StateFile, placeKey, type FollowClient, type FollowEvent, type GridEvent, type QueryPage } from '../../src/agent/index.js';
import { GridError } from '../../src/agent/errors.js';

const TOPIC = 't/x';
const item = (seq: number, subid?: string): GridEvent => ({ kind: 'item', topic: TOPIC, id: `i${seq}`, seq, payload: {}, ...(subid ? { subid } : {}) });
const qitem = (seq: number) => ({ topic: TOPIC, id: `i${seq}`, seq, payload: {} });

/** A client whose query answers come from `answer(afterSeq)`, awaited (so a test can hold one). */
function fakeClient(answer: (afterSeq: number) => Promise<QueryPage>) {
  let listener: ((e: GridEvent) => void) | undefined;
  const calls = { queries: [] as number[], unsubscribed: [] as string[] };
  let subids = 0;
  const client: FollowClient = {
    onEvent: (fn) => { listener = fn; return () => { listener = undefined; }; },
    subscribe: async (topic) => ({ topic, subid: `s${++subids}` }),
    subscriptions: async () => [{ topic: TOPIC, subid: 'old', subscription: 'subscribed' } as never],
    unsubscribe: async (_t, subid) => { calls.unsubscribed.push(subid!); },
    query: async function* (_topic, o) {
      calls.queries.push(o?.afterSeq ?? -1);
      yield await answer(o?.afterSeq ?? 0);
    } as FollowClient['query'],
  };
  return { client, calls, emit: (e: GridEvent) => listener?.(e) };
}
const page = (...seqs: number[]): QueryPage => ({ items: seqs.map(qitem), truncated: false });

async function take(f: Follower, n: number, handed = true): Promise<FollowEvent[]> {
  const out: FollowEvent[] = [];
  while (out.filter((e) => e.kind === 'item').length < n) {
    const r = await f.next();
    if (r.done) break;
    out.push(r.value);
    if (handed && r.value.kind === 'item') f.handed(r.value);
  }
  return out;
}
const seqsOf = (evs: FollowEvent[]) => evs.flatMap((e) => (e.kind === 'item' ? [`${e.seq}:${e.via}`] : []));
function deferred<T>() { let resolve!: (v: T) => void; const p = new Promise<T>((r) => { resolve = r; }); return { p, resolve }; }

describe('state file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-state-'));
  test('round trip, atomically (no temp file left), keyed by topic and filter in any order', () => {
    const path = join(dir, 'a.json');
    const s = StateFile.open(path);
    assert.equal(s.place(TOPIC), undefined);
    s.save(TOPIC, { type: ['malware', 'indicator'], tlp: ['green'] }, { seq: 7, subid: 's1' });
    assert.deepEqual(readdirSync(dir), ['a.json']);
    const again = StateFile.open(path);
    assert.deepEqual(again.place(TOPIC, { tlp: ['green'], type: ['indicator', 'malware'] })?.seq, 7);
    assert.equal(again.place(TOPIC), undefined, 'another filter is another subscription');
    assert.notEqual(placeKey(TOPIC), placeKey(TOPIC, { type: ['x'] }));
  });

  test('a staged place is not the place until committed', () => {
    const path = join(dir, 'b.json');
    const s = StateFile.open(path);
    s.save(TOPIC, undefined, { seq: 1 });
    const commit = s.stage(TOPIC, undefined, { seq: 2 });
    assert.equal(StateFile.open(path).place(TOPIC)?.seq, 1);
    commit();
    assert.equal(StateFile.open(path).place(TOPIC)?.seq, 2);
  });

  test('a damaged file is refused with its path, never overwritten', () => {
    const path = join(dir, 'c.json');
    writeFileSync(path, '{"version":1,"subscr');
    assert.throws(() => StateFile.open(path), (e: unknown) => e instanceof GridError && e.message.includes(path));
    writeFileSync(path, '{"version":1,"subscriptions":{"x":{"topic":"t","seq":-1}}}');
    assert.throws(() => StateFile.open(path), /not a grid-node state file/);
    assert.match(readFileSync(path, 'utf8'), /-1/);
  });
});

describe('follower', () => {
  test('catches up from the saved place; live items racing the query come once, in order', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'agent-follow-')), 's.json');
    StateFile.open(path).save(TOPIC, undefined, { seq: 2 });
    const gate = deferred<QueryPage>();
    const { client, calls, emit } = fakeClient(() => gate.p);
    const f = new Follower(client, { topic: TOPIC, state: StateFile.open(path) });
    await f.start();
    emit(item(4)); emit(item(5)); // live, while the query is out
    gate.resolve(page(3, 4));
    const evs = await take(f, 3);
    assert.deepEqual(seqsOf(evs), ['3:query', '4:query', '5:live']);
    assert.deepEqual(evs.flatMap((e) => (e.kind === 'item' ? [e.subid] : [])), ['s1', 's1', 's1'], 'caught-up items name the subscription too (issue 11)');
    assert.deepEqual(calls.queries, [2]);
    assert.ok(evs.some((e) => e.kind === 'caught-up' && e.count === 2));
    assert.equal(StateFile.open(path).place(TOPIC)?.seq, 5, 'the place follows what was handed on');
    f.stop();
  });

  test('a lost connection: items that arrive before `reconnected` wait for the catch-up; nothing twice, no gap', async () => {
    const answers = [page(), page(6, 7, 8)];
    const { client, calls, emit } = fakeClient(async () => answers.shift()!);
    const f = new Follower(client, { topic: TOPIC, afterSeq: 4 });
    await f.start();
    emit(item(5));
    assert.deepEqual(seqsOf(await take(f, 1)), ['5:live']);
    emit({ kind: 'disconnected' });
    emit(item(8)); // on the new connection, before the client says it is back
    emit({ kind: 'reconnected', resubscribed: [] });
    emit(item(9));
    assert.deepEqual(seqsOf(await take(f, 4)), ['6:query', '7:query', '8:query', '9:live']);
    assert.deepEqual(calls.queries, [4, 5]);
    f.stop();
  });

  test('a query lost with the connection is asked again after the reconnect', async () => {
    let n = 0;
    const { client, calls, emit } = fakeClient(async () => {
      if (n++ === 0) { emit({ kind: 'disconnected' }); throw new GridError('timeout', 'timeout', 'no answer'); }
      return page(2);
    });
    const f = new Follower(client, { topic: TOPIC, afterSeq: 1 });
    await f.start();
    emit(item(3));
    emit({ kind: 'reconnected', resubscribed: [] });
    assert.deepEqual(seqsOf(await take(f, 2)), ['2:query', '3:live']);
    assert.deepEqual(calls.queries, [1, 1]);
    f.stop();
  });

  test('a refused query is reported and live delivery goes on; truncated is reported', async () => {
    const { client, emit } = fakeClient(async () => { throw new GridError('stanza', 'forbidden', 'forbidden: policy does not allow query'); });
    const f = new Follower(client, { topic: TOPIC, afterSeq: 0 });
    await f.start();
    emit(item(3));
    const evs = await take(f, 1);
    assert.ok(evs.some((e) => e.kind === 'catch-up-failed'));
    assert.deepEqual(seqsOf(evs), ['3:live']);
    f.stop();

    const t = fakeClient(async () => ({ ...page(9), truncated: true }));
    const g = new Follower(t.client, { topic: TOPIC, afterSeq: 1 });
    await g.start();
    const tev = await take(g, 1);
    assert.deepEqual(tev.find((e) => e.kind === 'truncated'), { kind: 'truncated', topic: TOPIC, afterSeq: 1 });
    g.stop();
  });

  test('the previous run\'s subscription is ended; items of another subscription of the JID are not ours', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'agent-follow-')), 's.json');
    StateFile.open(path).save(TOPIC, undefined, { seq: 0, subid: 'old' });
    const { client, calls, emit } = fakeClient(async () => page());
    const f = new Follower(client, { topic: TOPIC, state: StateFile.open(path) });
    const sub = await f.start();
    assert.deepEqual(calls.unsubscribed, ['old']);
    assert.equal(StateFile.open(path).place(TOPIC)?.subid, sub.subid);
    emit(item(1, 'someone-else')); emit(item(2, sub.subid));
    assert.deepEqual(seqsOf(await take(f, 1)), ['2:live']);
    f.stop();
  });
});
