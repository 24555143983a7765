// Agent: typed errors, CLI settings, backoff and the event queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import xml from '@xmpp/xml';
import { GridError, toGridError } from '../../src/agent/errors.js';
import { StanzaError } from '../../src/agent/stanza-error.js';
import { resolveSettings } from '../../src/agent/cli/settings.js';
import { backoffDelay, retryWithBackoff } from '../../src/agent/reconnect.js';
import { EventQueue } from '../../src/agent/event-queue.js';

const app = (name: string) => ({ name, xmlns: 'http://jabber.org/protocol/pubsub#errors', element: xml(name) });

const errCases: [string, StanzaError, { condition: string; app?: string; message: string }][] = [
  ['closed-node without text', new StanzaError('cancel', 'not-allowed', app('closed-node')),
    { condition: 'not-allowed', app: 'closed-node', message: 'not-allowed + closed-node: policy does not allow subscribe on x' }],
  ['controller text wins', new StanzaError('modify', 'bad-request', app('invalid-options'), 'unknown filter field foo'),
    { condition: 'bad-request', app: 'invalid-options', message: 'bad-request + invalid-options: unknown filter field foo' }],
  ['registration-required', new StanzaError('auth', 'registration-required'),
    { condition: 'registration-required', message: 'registration-required: this node has no account: run `grid-node register` first' }],
];
for (const [name, se, want] of errCases) {
  test(`toGridError: ${name}`, () => {
    const g = toGridError(se, { operation: 'subscribe', topic: 'x' });
    assert.ok(g instanceof GridError);
    assert.equal(g.kind, 'stanza');
    assert.equal(g.condition, want.condition);
    assert.equal(g.appCondition, want.app);
    assert.equal(g.type, se.type);
    assert.equal(g.message, want.message);
  });
}

test('toGridError passes GridErrors through and classifies timeouts', () => {
  const g = new GridError('usage', 'bad-request', 'x');
  assert.equal(toGridError(g), g);
  const t = toGridError(Object.assign(new Error('Timeout'), { name: 'TimeoutError' }), { operation: 'publish' });
  assert.equal(t.kind, 'timeout');
});

test('settings: flags win over GRID_NODE_* env, env over the config file; paths resolve against the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-settings-'));
  const cfg = join(dir, 'node.yaml');
  writeFileSync(cfg, 'service: xmpps://file:5223\ndomain: file.test\ncert: certs/n.crt\nkey: certs/n.key\n');
  const s = resolveSettings({ config: cfg, service: 'xmpps://flag:1' }, { GRID_NODE_DOMAIN: 'env.test', GRID_NODE_SERVICE: 'xmpps://env:2' });
  assert.equal(s.service, 'xmpps://flag:1');
  assert.equal(s.domain, 'env.test');
  assert.equal(s.cert, join(dir, 'certs/n.crt'));
  assert.throws(() => resolveSettings({ service: 'x', cert: 'c', key: 'k' }, {}), /missing domain: pass --domain, set GRID_NODE_DOMAIN/);
  writeFileSync(cfg, 'servce: x\n');
  assert.throws(() => resolveSettings({ config: cfg }, {}), /unknown key "servce"/);
});

test('backoff doubles up to the cap, with bounded jitter', () => {
  assert.deepEqual([0, 1, 2, 3, 10].map((n) => backoffDelay(n, { initialMs: 100, maxMs: 1000 }, () => 0.5)), [100, 200, 400, 800, 1000]);
  assert.equal(backoffDelay(0, { initialMs: 100 }, () => 0), 80);
  assert.equal(backoffDelay(0, { initialMs: 100 }, () => 1), 120);
});

test('retryWithBackoff retries until success, sleeping the backoff between tries', async () => {
  let n = 0;
  const slept: number[] = [];
  const r = await retryWithBackoff(async () => { if (++n < 3) throw new Error('down'); return 'up'; },
    { initialMs: 10, cancelled: () => false, sleep: async (ms) => { slept.push(ms); } });
  assert.equal(r, 'up');
  assert.equal(slept.length, 2);
  assert.equal(await retryWithBackoff(async () => 'x', { cancelled: () => true }), undefined);
});

test('EventQueue hands out queued and later values in order, then ends', async () => {
  const q = new EventQueue<number>();
  q.push(1);
  q.push(2);
  assert.deepEqual(await q.next(), { value: 1, done: false });
  assert.deepEqual(await q.next(), { value: 2, done: false });
  const waiting = q.next();
  q.push(3);
  assert.deepEqual(await waiting, { value: 3, done: false });
  const last = q.next();
  q.end();
  assert.deepEqual(await last, { value: undefined, done: true });
  q.push(4);
  assert.deepEqual(await q.next(), { value: undefined, done: true });
});

test('EventQueue: end(error) rejects a waiting consumer; return() runs the cleanup', async () => {
  const q = new EventQueue<number>();
  const waiting = q.next();
  q.end(new Error('lost'));
  await assert.rejects(waiting, /lost/);
  let cleaned = false;
  const r = new EventQueue<number>(() => { cleaned = true; });
  await r.return();
  assert.equal(cleaned, true);
});
