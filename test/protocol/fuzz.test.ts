// Robustness of the protocol surface (quality bar: no stanza, certificate or payload crashes
// the controller or corrupts its state). A seeded fuzz mutates valid IQs and sends them
// through the real router and handlers; every answer must be `true`, a payload, or a
// well-formed <error/> with exactly one RFC 6120 condition — never internal-server-error,
// which would mean an exception escaped a handler. Then the state must still agree with
// itself and a plain publish/subscribe must still work. Regression cases for the bugs the
// fuzz found follow the fuzz.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { AccountService, EMPTY_ACCOUNTS } from '../../src/accounts/service.js';
import type { AccountPolicy } from '../../src/accounts/types.js';
import { verifyRegistration } from '../../src/identity/index.js';
import { parseStixPayload } from '../../src/payloads/index.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { Router } from '../../src/xmpp/router.js';
import { installRegister } from '../../src/xmpp/handlers/register.js';
import { installCommands } from '../../src/xmpp/handlers/commands.js';
import { installPing } from '../../src/xmpp/handlers/disco.js';
import { eventStanzas, makeNotifier, purgeMessages, retractMessages } from '../../src/xmpp/handlers/notify.js';
import { MAX_SUBSCRIPTIONS_PER_ACCOUNT } from '../../src/topics/service.js';
import { memoryStore } from '../helpers/fakes.js';
import { node as nodeCert, testPki, trustFor } from '../helpers/pki.js';
import { signChallenge } from '../../src/identity/pop.js';
import {
  ACCOUNTS, NS, POLICY, TOPIC, assertError, bundle, el, filterOptions, form, harness, indicator, jsonItem, malware, owner,
  publishEl, pubsub, reparse, type Harness,
} from './pubsub-fixture.js';
import { Rnd, SLASHY_TOPIC, mutate, prng, seeds, type SeedContext } from './fuzz-gen.js';
import { isFail } from '../../src/result.js';

// Fixed by default (deterministic); FUZZ_SEED / FUZZ_ITERATIONS explore further by hand.
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 6000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const ROOT = 'root@grid.test';
const ADMIN = 'admin@grid.test';

/** The fixture's policy plus a catch-all rule, so names like `constructor` reach the core. */
const FUZZ_POLICY = POLICY.replace('seers: Discover only }', 'seers: Discover only, root: Everything }') + `
  - id: root-everything
    effect: permit
    operations: [discover, subscribe, query, publish, create, bulk]
    groups: [root]
    topics: ["**"]
`;
ACCOUNTS[ROOT] = { jid: ROOT, groups: ['root'], deviceType: 'tip' };

/** RFC 6120 §8.3.3 defined conditions. */
const CONDITIONS = new Set(['bad-request', 'conflict', 'feature-not-implemented', 'forbidden', 'gone', 'internal-server-error',
  'item-not-found', 'jid-malformed', 'not-acceptable', 'not-allowed', 'not-authorized', 'policy-violation', 'recipient-unavailable',
  'redirect', 'registration-required', 'remote-server-not-found', 'remote-server-timeout', 'resource-constraint',
  'service-unavailable', 'subscription-required', 'undefined-condition', 'unexpected-request']);
const ERROR_TYPES = new Set(['auth', 'cancel', 'continue', 'modify', 'wait']);
// XML 1.0 Char production: what may appear in a well-formed document.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

interface Rig {
  h: Harness;
  accounts: AccountService;
  ctx: SeedContext;
}

async function rig(): Promise<Rig> {
  // One account's 1,000 distinct filters on one topic: room for them under the subtopic cap.
  const h = await harness(FUZZ_POLICY, { subtopicsPerTopic: 5000 });
  const pki = testPki();
  const trust = trustFor(pki.ca);
  const policy: AccountPolicy = {
    autoApprove: () => null, declaredGroups: () => ['soc', 'partners', 'providers'], admins: () => [ADMIN],
  };
  const accounts = new AccountService({ store: memoryStore(EMPTY_ACCOUNTS), policy, trust: () => trust, verify: verifyRegistration, log: silentLogger() });
  installRegister(h.router, h.disco, accounts);
  installCommands(h.router, h.disco, accounts, { declaredGroups: () => ['soc', 'partners', 'providers'], topics: async () => 'topics' });
  installPing(h.router, h.disco);
  // A deleted topic's items go with it: the core does that now (ItemService on topic-deleted).
  const cert = nodeCert({ xmppAddr: 'nobody@grid.test', CN: 'nobody' });
  const ctx: SeedContext = {
    challenge: (bare) => accounts.challenge(bare),
    cert: { pem: cert.certPem, signature: (c) => signChallenge(cert.keyPem, c) },
    lastSid: 'none',
  };
  return { h, accounts, ctx };
}

/** One answer, checked: what may come back from any IQ. Returns a problem, or null. */
export function answerProblem(r: unknown, request: string): string | null {
  if (r === true) return null;
  if (!r || typeof r !== 'object' || typeof (r as Element).name !== 'string') return `not an element or true: ${String(r)}`;
  const e = r as Element;
  const text = e.toString();
  // Echoed attacker text that XML cannot carry would break the component stream; such text
  // cannot arrive through a real server (its parser refuses it), so it only counts when new.
  try {
    reparse(text);
  } catch (err) {
    if (!NOT_XML_CHAR.test(request)) return `reply is not well-formed XML (${String(err)}): ${text.slice(0, 200)}`;
  }
  if (e.name !== 'error') return e.getNS() ? null : `payload without a namespace: ${text.slice(0, 200)}`;
  if (!ERROR_TYPES.has(e.attrs.type)) return `error type ${e.attrs.type}`;
  const conds = e.getChildElements().filter((c) => c.getNS() === NS.STANZAS && c.name !== 'text');
  if (conds.length !== 1) return `${conds.length} defined conditions: ${text.slice(0, 300)}`;
  if (!CONDITIONS.has(conds[0]!.name)) return `unknown condition ${conds[0]!.name}`;
  if (conds[0]!.name === 'internal-server-error') return `internal-server-error: ${text.slice(0, 300)}`;
  return null;
}

/** The derived indexes and stored state agree; the item store reads back. */
export function stateProblems(h: Harness): string[] {
  const out: string[] = [];
  const owners = Object.keys(ACCOUNTS);
  const stored = owners.flatMap((o) => h.topics.subscriptionsOfOwner(o));
  const names = new Set(h.topics.allTopics().map((t) => t.name));
  for (const s of stored) {
    if (!names.has(s.topic) || h.topics.topic(s.topic)?.name !== s.topic) out.push(`subscription ${s.subid} on missing topic ${s.topic}`);
    if (s.subtopic && (!s.subtopic.startsWith(`${s.topic}~`) || !h.topics.subtopicExists(s.subtopic))) out.push(`subscription ${s.subid}: subtopic ${s.subtopic} not indexed`);
  }
  for (const t of h.topics.allTopics()) {
    const indexed = h.topics.subscriptionsOf(t.name).map((s) => s.subid).sort();
    const inState = stored.filter((s) => s.topic === t.name).map((s) => s.subid).sort();
    if (JSON.stringify(indexed) !== JSON.stringify(inState)) out.push(`topic ${t.name}: index ${indexed.length} vs state ${inState.length}`);
    for (const st of h.topics.subtopics(t.name)) {
      const n = inState.length ? stored.filter((s) => s.subtopic === st.node).length : 0;
      if (n !== st.subscribers) out.push(`subtopic ${st.node}: ${st.subscribers} indexed vs ${n} stored`);
    }
    const items = h.itemStore.list(t.name);
    if (items.length > t.maxItems) out.push(`topic ${t.name}: ${items.length} items > max ${t.maxItems}`);
    for (let i = 1; i < items.length; i++) if (items[i]!.seq <= items[i - 1]!.seq) out.push(`topic ${t.name}: seq not ascending`);
    if (t.contentType.startsWith('application/stix+json')) {
      for (const it of items) if (isFail(parseStixPayload(it.payload))) out.push(`topic ${t.name}: stored item ${it.id} is not valid STIX`);
    }
  }
  return out;
}

// Weighted towards the JIDs the policy lets through, so mutations reach the core.
/**
 * What the fuzzed requests made the controller send (notifications, subtopic and event
 * messages), built as xmpp/broadcast.ts builds them: each must come from our domain, go to
 * a JID of the account that caused it, and serialise to well-formed XML.
 */
function outboundProblems(h: Harness, seen: { published: number; events: number; retracted: number; purged: number }): string[] {
  const DOMAIN = 'controller.grid.test';
  const stanzas: Element[] = [];
  const notifier = makeNotifier(DOMAIN);
  const events = eventStanzas(DOMAIN);
  for (; seen.published < h.published.length; seen.published++) stanzas.push(...notifier.build(h.published[seen.published]!));
  for (; seen.events < h.events.length; seen.events++) stanzas.push(...events.forEvent(h.events[seen.events]!));
  for (; seen.retracted < h.retracted.length; seen.retracted++) {
    const r = h.retracted[seen.retracted]!;
    stanzas.push(...retractMessages(DOMAIN, r.topic, r.itemId, r.subscriptions));
  }
  for (; seen.purged < h.purged.length; seen.purged++) stanzas.push(...purgeMessages(DOMAIN, h.purged[seen.purged]!.topic, h.purged[seen.purged]!.subscriptions));
  const out: string[] = [];
  for (const st of stanzas) {
    const text = st.toString();
    if (st.attrs.from !== DOMAIN) out.push(`outbound from ${st.attrs.from}: ${text.slice(0, 200)}`);
    const to = (st.attrs.to ?? '').split('/')[0]!.toLowerCase();
    if (!Object.hasOwn(ACCOUNTS, to)) out.push(`outbound to ${st.attrs.to}, no account: ${text.slice(0, 200)}`);
    try {
      reparse(text);
    } catch (err) {
      out.push(`outbound not well-formed (${String(err)}): ${text.slice(0, 200)}`);
    }
  }
  return out;
}

const SENDERS = ['provider@grid.test/tip', 'provider@grid.test/tip', `${ROOT}/r`, 'node2@grid.test/siem', 'node2@grid.test/siem', 'partner@grid.test/x', 'seer@grid.test/x', 'nobody@grid.test/x',
  `${ROOT}/r`, `${ADMIN}/laptop`, 'unknown@grid.test/x', 'NODE2@GRID.TEST/Upper', 'provider@grid.test', 'node2@grid.test/'];

describe('protocol fuzz (seeded)', () => {
  let g: Rig;
  before(async () => {
    g = await rig();
  });
  after(() => g.h.close());

  test(`${ITERATIONS} mutated IQs: every answer is a payload or a well-formed error; no internal-server-error`, async () => {
    const r = new Rnd(prng(SEED));
    const failures: string[] = [];
    const stats = new Map<string, number>();
    const seen = { published: 0, events: 0, retracted: 0, purged: 0 };
    /** Builds IQ #i now (the PRNG stays in step) and returns its dispatch and check. */
    const one = (i: number): (() => Promise<void>) => {
      const from = r.pick(SENDERS);
      const seed = r.pick(seeds(r, g.ctx, from))();
      const muts = r.chance(0.2) ? 0 : 1 + r.int(3);
      for (let m = 0; m < muts; m++) mutate(r, seed.child);
      const stanza = xml('iq', { type: seed.type, id: `f${i}`, from, to: 'controller.grid.test' }, seed.child);
      const request = stanza.toString();
      return async () => {
        let answer: unknown;
        try {
          answer = await g.h.router.dispatchIq(seed.type, stanza, seed.child);
        } catch (err) {
          failures.push(`#${i} threw ${String(err)}: ${request.slice(0, 300)}`);
          return;
        }
        const p = answerProblem(answer, request);
        if (p) failures.push(`#${i} ${p}\n   request: ${request.slice(0, 400)}`);
        const kind = answer === true ? 'true' : (answer as Element).name === 'error' ? (answer as Element).getChildElements().map((c) => c.name).join('+') : (answer as Element).name;
        const key = `${seed.child.name}/${seed.child.getChildElements()[0]?.name ?? '-'} → ${kind}`;
        stats.set(key, (stats.get(key) ?? 0) + 1);
        failures.push(...outboundProblems(g.h, seen).map((o) => `#${i} ${o}`));
        const sid = answer !== true ? (answer as Element).attrs?.sessionid : undefined;
        if (sid) g.ctx.lastSid = sid;
      };
    };
    for (let i = 0; i < ITERATIONS && failures.length <= 20;) {
      // Mostly one at a time (replayable); one round in five sends four at once, as a busy
      // server would, so racing requests meet each other in the core.
      const batch = r.chance(0.2) ? 4 : 1;
      const runs = Array.from({ length: batch }, (_, k) => one(i + k));
      await Promise.all(runs.map((run) => run()));
      const before = Math.floor(i / 500);
      i += batch;
      if (Math.floor(i / 500) !== before) failures.push(...stateProblems(g.h).map((s) => `after #${i}: ${s}`));
    }
    // FUZZ_STATS=1 prints what the answers were, to see that the mutations reach deep code.
    if (process.env.FUZZ_STATS) console.log(JSON.stringify(seen));
    if (process.env.FUZZ_STATS) console.log([...stats].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`).join('\n'));
    assert.deepEqual(failures, []);
  });

  test('afterwards the state is consistent and the controller still serves a plain publish/subscribe', async () => {
    assert.deepEqual(stateProblems(g.h), []);
    const h = g.h;
    const sub = el(await h.iq('node2@grid.test/after', 'set', pubsub(xml('subscribe', { node: TOPIC, jid: 'node2@grid.test/after' }))));
    assert.equal(sub.getChild('subscription')?.attrs.subscription, 'subscribed');
    const before = h.published.length;
    const pub = el(await h.iq('provider@grid.test/tip', 'set', publishEl(TOPIC, jsonItem(bundle(indicator()), 'after-1'))));
    assert.equal(pub.getChild('publish')?.getChild('item')?.attrs.id, 'after-1');
    const p = h.published.slice(before).at(-1)!;
    assert.ok(p.deliveries.some((d) => d.subscription.jid === 'node2@grid.test/after'));
    const items = el(await h.iq('node2@grid.test/after', 'get', pubsub(xml('items', { node: TOPIC, max_items: '1' }))));
    assert.equal(items.getChild('items')?.getChild('item')?.attrs.id, 'after-1');
    assert.deepEqual(stateProblems(h), []);
  });

});

describe('fuzz findings (regressions)', () => {
  let g: Rig;
  before(async () => {
    g = await rig();
  });
  after(() => g.h.close());
  const ROOTJ = `${ROOT}/r`;

  test('answerProblem itself: flags internal errors and two conditions', () => {
    const two = xml('error', { type: 'cancel' }, xml('conflict', { xmlns: NS.STANZAS }), xml('gone', { xmlns: NS.STANZAS }));
    assert.match(answerProblem(two, '') ?? '', /2 defined conditions/);
    assert.match(answerProblem(xml('error', { type: 'wait' }, xml('internal-server-error', { xmlns: NS.STANZAS })), '') ?? '', /internal/);
    assert.equal(answerProblem(true, ''), null);
  });

  test("node ids that are Object.prototype members (constructor, __proto__, toString) are unknown nodes", async () => {
    const { h } = g;
    for (const node of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      assertError(await h.iq(ROOTJ, 'get', owner(xml('configure', { node }))), 'cancel', 'item-not-found');
      assertError(await h.iq(ROOTJ, 'get', xml('authorize', { xmlns: NS.GRID, jid: 'node2@grid.test', node, operation: 'query' })), 'cancel', 'item-not-found');
      assertError(await h.iq(ROOTJ, 'set', pubsub(xml('subscribe', { node, jid: ROOTJ }))), 'cancel', 'item-not-found');
      assertError(await h.iq(ROOTJ, 'set', publishEl(node, jsonItem(bundle(indicator())))), 'cancel', 'item-not-found');
    }
    // …and such a name is an ordinary topic name once created.
    assert.equal(await h.iq(ROOTJ, 'set', pubsub(xml('create', { node: 'constructor' }))), true);
    assert.equal(h.topics.topic('constructor')?.name, 'constructor');
    assert.equal(el(await h.iq(ROOTJ, 'set', pubsub(xml('subscribe', { node: 'constructor', jid: ROOTJ })))).getChild('subscription')?.attrs.node, 'constructor');
    assert.deepEqual(stateProblems(h), []);
  });

  test('a valid topic name too long for the item store once encoded is refused at create and at publish, not thrown', async () => {
    const { h } = g;
    assert.equal(SLASHY_TOPIC.length, 128);
    assertError(await h.iq(ROOTJ, 'set', pubsub(xml('create', { node: SLASHY_TOPIC }))), 'modify', 'not-acceptable');
    assert.equal(h.topics.topic(SLASHY_TOPIC), undefined);
    // A policy may still declare one: publishing to it answers, and stores nothing.
    await h.topics.applyDeclaredTopics([{ name: SLASHY_TOPIC, contentType: 'application/stix+json;version=2.1', filtering: 'controller', filterFields: {}, maxItems: 5, file: 'fuzz.yaml' }]);
    assertError(await h.iq('provider@grid.test/tip', 'set', publishEl(SLASHY_TOPIC, jsonItem(bundle(indicator())))), 'modify', 'not-acceptable');
  });

  test('two identical subscribes racing give one subscription', async () => {
    const { h } = g;
    const jid = 'node2@grid.test/race';
    const sub = () => h.iq(jid, 'set', pubsub(xml('subscribe', { node: TOPIC, jid }), filterOptions({ type: ['malware'] })));
    const [a, b] = await Promise.all([sub(), sub()]);
    const ids = [a, b].map((r) => el(r).getChild('subscription')?.attrs.subid);
    assert.equal(ids[0], ids[1]);
    assert.equal(h.topics.subscriptionsOfOwner('node2@grid.test', TOPIC).filter((s) => s.jid === jid).length, 1);
    assert.deepEqual(stateProblems(h), []);
  });

  test('a subscribe racing the delete of its topic leaves no subscription behind', async () => {
    const { h } = g;
    const node = 'threat-intel/doomed';
    assert.equal(await h.iq(ROOTJ, 'set', pubsub(xml('create', { node }))), true);
    const [s, d] = await Promise.all([
      h.iq('node2@grid.test/a', 'set', pubsub(xml('subscribe', { node, jid: 'node2@grid.test/a' }))),
      h.iq(ROOTJ, 'set', owner(xml('delete', { node }))),
    ]);
    assert.equal(d, true);
    assert.ok(s === true || el(s).name === 'pubsub' || el(s).name === 'error');
    assert.equal(h.topics.topic(node), undefined);
    assert.deepEqual(h.topics.subscriptionsOfOwner('node2@grid.test').filter((x) => x.topic === node), []);
    assert.deepEqual(stateProblems(h), []);
  });

  test('a publish racing the delete of its topic leaves no item behind', async () => {
    const { h } = g;
    const node = 'threat-intel/doomed2';
    assert.equal(await h.iq(ROOTJ, 'set', pubsub(xml('create', { node }))), true);
    const [p, d] = await Promise.all([
      h.iq(ROOTJ, 'set', publishEl(node, jsonItem(bundle(malware()), 'late'))),
      h.iq(ROOTJ, 'set', owner(xml('delete', { node }))),
    ]);
    assert.equal(d, true);
    assertError(p, 'cancel', 'item-not-found');
    assert.deepEqual(h.itemStore.list(node), []);
  });

  test('a private key pasted into the registration form reaches neither the log nor the answer', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'trace', destination: { write: (l: string) => void lines.push(l) } });
    const key = nodeCert({ xmppAddr: 'nobody@grid.test' }).keyPem;
    const accounts = new AccountService({
      store: memoryStore(EMPTY_ACCOUNTS), policy: { autoApprove: () => null, declaredGroups: () => [], admins: () => [] },
      trust: () => trustFor(testPki().ca), verify: verifyRegistration, log,
    });
    const { h } = g;
    const router = new Router(log);
    installRegister(router, h.disco, accounts);
    const body = key.split('\n').filter((l) => l && !l.startsWith('-----'))[1]!;
    for (const fields of [{ certificate: key.split('\n'), signature: ['x'] }, { certificate: [`-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----`], signature: [key] }]) {
      const x = form('submit', 'urn:xmpp-grid:0#register', { challenge: [accounts.challenge('nobody@grid.test')], ...fields });
      const child = xml('query', { xmlns: 'jabber:iq:register' }, x);
      const r = await router.dispatchIq('set', xml('iq', { type: 'set', id: 'k', from: 'nobody@grid.test/x' }, child), child);
      const e = assertError(r, 'modify', 'bad-request');
      assert.ok(!e.toString().includes(body), 'the answer echoes key material');
    }
    assert.ok(lines.length > 0, 'the refusals are audited');
    for (const l of lines) {
      assert.ok(!l.includes('PRIVATE KEY') && !l.includes(body), `key material in the log: ${l.slice(0, 200)}`);
    }
  });


  test('a publisher whose publish permission went neither hears subtopic filters nor may ask authorize', async () => {
    const { h } = g;
    const PUB = 'provider2@grid.test';
    assert.equal(el(await h.iq(`${PUB}/x`, 'set', xml('publisher', { xmlns: NS.GRID, node: TOPIC }))).name, 'publisher');
    const was = ACCOUNTS[PUB]!;
    ACCOUNTS[PUB] = { ...was, groups: ['seers'] }; // may still discover, no longer publish
    try {
      const ask = xml('authorize', { xmlns: NS.GRID, jid: 'node2@grid.test', node: TOPIC, operation: 'query' });
      assertError(await h.iq(`${PUB}/x`, 'get', ask), 'auth', 'forbidden');
      const n = h.events.length;
      const jid = 'node2@grid.test/filters';
      await h.iq(jid, 'set', pubsub(xml('subscribe', { node: TOPIC, jid }), filterOptions({ type: ['tool'] })));
      const created = h.events.slice(n).find((e) => e.kind === 'subtopic');
      assert.ok(created && created.kind === 'subtopic');
      assert.ok(!created.publishers.includes(PUB), 'the subtopic filter went to a former publisher');
    } finally {
      ACCOUNTS[PUB] = was;
    }
  });

  test('subscriptions per account are bounded', async () => {
    const { h } = g;
    const jid = 'partner@grid.test/many';
    let last: Element | true = true;
    for (let i = 0; i <= MAX_SUBSCRIPTIONS_PER_ACCOUNT; i++) {
      last = await h.iq(jid, 'set', pubsub(xml('subscribe', { node: TOPIC, jid }), filterOptions({ location: [`l${i}`] })));
    }
    assertError(last, 'cancel', 'not-allowed');
    assert.equal(h.topics.subscriptionsOfOwner('partner@grid.test').length, MAX_SUBSCRIPTIONS_PER_ACCOUNT);
    assert.deepEqual(stateProblems(h), []);
  });

  test('a throwing event listener neither fails the request midway nor desynchronises the indexes', async () => {
    const { h } = g;
    const jid = 'node2@grid.test/throw';
    await h.iq(jid, 'set', pubsub(xml('subscribe', { node: TOPIC, jid }), filterOptions({ type: ['campaign'] })));
    const boom = () => {
      throw new Error('listener bug');
    };
    h.topics.on('event', boom);
    try {
      assert.equal(await h.iq(jid, 'set', pubsub(xml('unsubscribe', { node: TOPIC, jid }))), true);
    } finally {
      h.topics.off('event', boom);
    }
    assert.deepEqual(stateProblems(h), []);
  });

});
