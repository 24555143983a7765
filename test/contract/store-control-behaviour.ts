// The behaviour part of the control store contract: what every ControlStore does, durable or
// not — the in-memory one of the tests included (test/helpers/fakes.ts). Durability, `.bak`
// and corrupt files are the real backends' part (store-control.contract.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlStore } from '../../src/store/types.js';

interface State {
  accounts: Record<string, { state: string }>;
  n: number;
}
const defaults = (): State => ({ accounts: {}, n: 0 });

/** Opens a store holding `defaults` (a fresh place each time): enough for the behaviour part. */
export type BehaviourFactory = <T>(defaults: T) => Promise<ControlStore<T>>;

/**
 * What every ControlStore does:
 * the defaults are copied, an update is seen at once, a throwing mutator changes nothing,
 * concurrent updates all apply in order, and a closed store refuses updates.
 */
export function controlStoreBehaviour(name: string, open: BehaviourFactory): void {
  describe(`control store behaviour: ${name}`, () => {
    test('opens with a copy of the defaults, which are never mutated', async () => {
      const d = defaults();
      const s = await open(d);
      assert.equal(s.source, 'defaults');
      assert.deepEqual(s.data, d);
      await s.update((x) => void (x.n = 5));
      assert.equal(d.n, 0);
      assert.equal(s.data.n, 5, 'the change is seen once update resolves');
      await s.close();
    });

    test('a throwing mutator changes nothing, not even what it wrote before throwing', async () => {
      const s = await open(defaults());
      await s.update((x) => void (x.n = 1));
      await assert.rejects(s.update((x) => { x.n = 99; x.accounts.x = { state: 'half' }; throw new Error('nope'); }), /nope/);
      assert.equal(s.data.n, 1);
      assert.deepEqual(s.data.accounts, {});
      await s.close();
    });

    test('concurrent updates all apply, in the order they were made', async () => {
      const s = await open(defaults());
      await Promise.all(Array.from({ length: 20 }, (_, i) => s.update((x) => {
        x.accounts[`n${i}`] = { state: String(x.n) };
        x.n++;
      })));
      assert.equal(s.data.n, 20);
      assert.deepEqual(Object.keys(s.data.accounts).map((k) => s.data.accounts[k]!.state), Array.from({ length: 20 }, (_, i) => String(i)));
      await s.close();
    });

    test('update after close is rejected', async () => {
      const s = await open(defaults());
      await s.close();
      await assert.rejects(s.update((x) => void (x.n = 1)), /closed/);
    });
  });
}

