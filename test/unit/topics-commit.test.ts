// TopicService's mutations under concurrency (commit.ts), on the real files control store: 50
// subscribes issued at once are each acknowledged only once their change is on disk, and end
// in what the same 50 run one after another give — same answers, same events, same state. A
// failed write rejects what it held and what follows, and tells nobody of changes not stored.
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TopicService, EMPTY_TOPICS, DEFAULT_TOPIC_LIMITS } from '../../src/topics/service.js';
import type { TopicEvent, TopicsState } from '../../src/topics/types.js';
import type { PolicySubject } from '../../src/policy/types.js';
import { openControlStore, readControlState, ControlStoreFailedError } from '../../src/store/control.js';
import type { ControlStore } from '../../src/store/types.js';
import { silentLogger } from '../../src/log.js';
import { isFail } from '../../src/result.js';
import { policyOf } from '../helpers/fakes.js';

const POLICY = `
groups: { soc: SOC, providers: Providers }
topics:
  - name: intel/a
    content_type: application/stix+json;version=2.1
    filter_fields: { location: x_location }
  - name: intel/b
    content_type: application/stix+json;version=2.1
    filter_fields: { location: x_location }
rules:
  - id: soc
    effect: permit
    operations: [discover, subscribe, query, publish]
    groups: [soc]
    topics: ["intel/**"]
`;
const policy = policyOf(POLICY);
const subject = (jid: string): PolicySubject | null => (/^u\d+@grid\.test$/.test(jid) ? { jid, groups: ['soc'] } : null);

async function service(dir: string): Promise<{ topics: TopicService; store: ControlStore<TopicsState>; events: TopicEvent[]; file: string }> {
  const file = join(dir, 'topics.json');
  const store = await openControlStore(file, EMPTY_TOPICS, { foldBytes: 8192 }); // folds during the run too
  const topics = new TopicService({ store, policy: () => policy, subject, log: silentLogger(), limits: { ...DEFAULT_TOPIC_LIMITS, subscriptionsPerAccount: 3, subtopicsPerTopic: 3 } });
  const events: TopicEvent[] = [];
  topics.on('event', (e) => events.push(e));
  await topics.applyDeclaredTopics(policy.topics);
  await topics.registerPublisher(subject('u0@grid.test')!, 'intel/a');
  return { topics, store, events, file };
}

/** The 50 requests: duplicates (created: false), caps reached (subscriptions per account, subtopics per topic), shared subtopics. */
const requests = Array.from({ length: 50 }, (_, i) => {
  const jid = `u${i % 7}@grid.test`;
  const node = i % 3 === 0 ? 'intel/b' : 'intel/a';
  const filter = i % 4 === 0 ? null : { location: [`L${i % 5}`] };
  return { jid, node, filter };
});

type Answer = { fail: string } | { created: boolean; jid: string; node: string; subtopic: string | null };
const answer = (r: Awaited<ReturnType<TopicService['subscribe']>>): Answer =>
  isFail(r) ? { fail: r.fail } : { created: r.value.created, jid: r.value.subscription.jid, node: r.value.subscription.topic, subtopic: r.value.subscription.subtopic };
const eventKey = (e: TopicEvent) => (e.kind === 'subtopic' ? `${e.action} ${e.subtopic.node} ${e.publishers.join(',')}` : e.kind);
const stateKey = (s: TopicsState) => Object.values(s.subscriptions).map((x) => `${x.jid} ${x.topic} ${x.subtopic}`).sort();

describe('topic service: concurrent mutations share group commits and behave as if serial', () => {
  let dir: string;
  beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), 'topics-commit-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  test('50 concurrent subscribes: each acknowledged only once durable; answers, events and state as one at a time', async () => {
    const serial = await service(join(dir, 's'));
    const serialAnswers: Answer[] = [];
    for (const q of requests) serialAnswers.push(answer(await serial.topics.subscribe(subject(q.jid)!, q.node, q.jid, q.filter)));

    const c = await service(join(dir, 'c'));
    /** What a process opening the store now would find: journal first (a fold replaces it last). */
    const onDisk = (): string => {
      const j = existsSync(`${c.file}.journal`) ? readFileSync(`${c.file}.journal`, 'latin1') : '';
      return j + readFileSync(c.file, 'latin1');
    };
    let notDurable = 0;
    const concurrent = await Promise.all(requests.map(async (q) => {
      const r = await c.topics.subscribe(subject(q.jid)!, q.node, q.jid, q.filter);
      // At the acknowledgement, synchronously: its subscription is in the files.
      if (!isFail(r) && !onDisk().includes(r.value.subscription.subid)) notDurable++;
      return answer(r);
    }));
    assert.equal(notDurable, 0, 'no subscribe was acknowledged before its change was on disk');
    assert.deepEqual(concurrent, serialAnswers);
    assert.ok(concurrent.some((a) => 'fail' in a) && concurrent.some((a) => 'created' in a && !a.created), 'the requests reach the caps and repeat');
    assert.deepEqual(c.events.map(eventKey), serial.events.map(eventKey));
    assert.ok(c.events.some((e) => e.kind === 'subtopic'), 'subtopics were announced');
    assert.deepEqual(stateKey(c.store.data), stateKey(serial.store.data));
    await c.store.close();
    assert.deepEqual(stateKey(await readControlState(c.file, EMPTY_TOPICS)), stateKey(serial.store.data), 'and that is what is stored');
    await serial.store.close();
  });

  test('a failed write: its subscribes reject and announce nothing, later changes are refused and change nothing', async () => {
    const c = await service(dir);
    const before = c.events.length;
    const fh = (c.store as unknown as { fh: { datasync: () => Promise<void> } }).fh;
    fh.datasync = () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    const r = await Promise.allSettled(requests.slice(1, 11).map((q) => c.topics.subscribe(subject(q.jid)!, q.node, q.jid, q.filter)));
    assert.ok(r.every((x) => x.status === 'rejected' && x.reason instanceof ControlStoreFailedError), 'none acknowledged');
    assert.equal(c.events.length, before, 'no subtopic announced for a change that was not stored');
    const count = c.topics.subscriptionsOf('intel/b').length;
    await assert.rejects(c.topics.subscribe(subject('u6@grid.test')!, 'intel/b', 'u6@grid.test', null), ControlStoreFailedError);
    assert.equal(c.topics.subscriptionsOf('intel/b').length, count, 'a refused change is not in the indexes either');
    await c.store.close();
  });
});
