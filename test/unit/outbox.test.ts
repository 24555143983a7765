import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import { Outbox, HIGH_WATER } from '../../src/xmpp/outbox.js';
import { isOurs } from '../../src/xmpp/component.js';
import type { ComponentLink } from '../../src/xmpp/component.js';
import { silentLogger } from '../../src/log.js';

function fakeLink(opts: { failWrites?: boolean } = {}) {
  const writes: string[] = [];
  const link = {
    dropped: 0,
    accept(el: { attrs: Record<string, string> }) {
      const from = el.attrs.from ?? 'controller.grid.test';
      if (!isOurs(from, 'controller.grid.test')) {
        this.dropped++;
        return false;
      }
      el.attrs.from = from;
      return true;
    },
    serialise(el: { attrs: Record<string, string>; toString(): string }) {
      return this.accept(el) ? el.toString() : null;
    },
    async writeRaw(s: string) {
      if (opts.failWrites) throw new Error('component link is offline');
      writes.push(s);
    },
  };
  return { link, writes };
}

test('stanzas leave in order, in few large writes, each stamped with our domain', async () => {
  const { link, writes } = fakeLink();
  const box = new Outbox(link as unknown as ComponentLink, silentLogger());
  const msgs = Array.from({ length: 2000 }, (_, i) => xml('message', { to: `n${i}@grid.test` }, xml('body', {}, 'x'.repeat(100))));
  await box.send(msgs);
  const all = writes.join('');
  assert.equal(box.sent, 2000);
  assert.ok(writes.length < 10, `batched into ${writes.length} writes`);
  assert.ok(all.indexOf('n0@grid.test') < all.indexOf('n1999@grid.test'));
  assert.equal((all.match(/from="controller\.grid\.test"/g) ?? []).length, 2000);
});

test('a stanza from outside our domain never leaves; a failed write is counted, not thrown', async () => {
  const { link, writes } = fakeLink();
  const box = new Outbox(link as unknown as ComponentLink, silentLogger());
  await box.send([xml('message', { from: 'someone@grid.test', to: 'x@grid.test' }), xml('message', { to: 'y@grid.test' })]);
  assert.equal(link.dropped, 1);
  assert.equal(box.sent, 1);
  assert.doesNotMatch(writes.join(''), /someone@grid\.test/);
  const failing = fakeLink({ failWrites: true });
  const box2 = new Outbox(failing.link as unknown as ComponentLink, silentLogger());
  await box2.send(xml('message', { to: 'z@grid.test' }));
  assert.equal(box2.failed, 1);
});

test('publish backpressure: above the high-water mark, belowHighWater waits until the queue drains', async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const link = { serialise: (el: { toString(): string }) => el.toString(), writeRaw: async () => { await gate; } };
  const box = new Outbox(link as unknown as ComponentLink, silentLogger());
  await box.belowHighWater(); // an empty queue never holds a publisher
  const sent = box.send(Array.from({ length: HIGH_WATER + 1 }, (_, i) => xml('message', { to: `n${i}@grid.test` })));
  let released = false;
  const waiting = box.belowHighWater().then(() => (released = true));
  await new Promise<void>((r) => setImmediate(r));
  assert.equal(released, false, 'held while the socket has not taken the backlog');
  open();
  await sent;
  await waiting;
  assert.equal(released, true);
  assert.equal(box.queued, 0);
});
