// How the topic service changes its state: each mutation in two phases, so concurrent ones share
// one durable write (group commit) and still behave as if run one after another.
//
//   1. The body runs synchronously, at once: it checks the state, changes it through write()
//      (ControlStore.update applies a change in memory before it returns, and hands back the
//      promise of its durability) and updates the service's indexes. No other mutation can run
//      in between (no await), so the next one sees this one's change — serial semantics without
//      a lock held across the disk write (the store coalesces every write made meanwhile into
//      the one append + fdatasync, or transaction, that follows the one in flight).
//   2. The acknowledgement: once every change the body wrote is durable, and every mutation that
//      ran before it has been acknowledged, its after() callbacks run (audit, events) and its
//      result is returned. A result that wrote nothing (a refusal, "already subscribed") also
//      waits for the mutations before it: it may rest on their changes, so it must not be
//      answered before they are stored.
//
// Writes reach the store in the order they were applied (each store's writes are serialized
// and cover everything changed before them), acknowledgements go out in that order, and none
// before its change is durable. When a durable write fails, the mutations in it reject and run
// no after() (no audit of a change not stored, no event publishers would act on). The files
// store then fails closed: it refuses every later change until a restart, so memory and disk
// never drift apart silently. PostgreSQL stores nothing of a failed transaction; its store then
// refuses changes until it has read the stored state back over memory (which undoes the
// rejected ones) and the cluster's resync has rebuilt the indexes on it (store/pg/control.ts). A store that
// refuses a change does not apply it: write() then throws that refusal, before the body touches any index.
import type { ControlStore } from '../store/types.js';

export interface Commit<S> {
  /** Applies `mutator` to the state now; its durability is awaited before the acknowledgement. */
  write(mutator: (s: S) => void): void;
  /** Runs once the mutation's changes are durable, in order of mutation. */
  after(fn: () => void): void;
}

class Refused extends Error {
  constructor(readonly reason: Promise<void>) {
    super('control store refused the change');
  }
}

export class CommitQueue<S> {
  /** The acknowledgement of the latest mutation; never rejects. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: ControlStore<S>) {}

  /** Runs `body` now (synchronously: it must not await) and resolves with its result once acknowledged. */
  run<T>(body: (c: Commit<S>) => T): Promise<T> {
    const durable: Promise<void>[] = [];
    const afters: (() => void)[] = [];
    let result: T;
    try {
      result = body({
        write: (mutator) => {
          let applied = false;
          const p = this.store.update((s) => {
            mutator(s);
            applied = true;
          });
          if (!applied) throw new Refused(p);
          // Observed by the acknowledgement below; never an unhandled rejection meanwhile.
          p.catch(() => undefined);
          durable.push(p);
        },
        after: (fn) => void afters.push(fn),
      });
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      // The store's own reason (closed, failed, a mutator that threw), after earlier writes.
      return this.chain(durable, [], () => e.reason.then(() => { throw new Error('control store refused the change'); }));
    }
    return this.chain(durable, afters, () => result);
  }

  private chain<T>(durable: Promise<void>[], afters: (() => void)[], finish: () => T | Promise<T>): Promise<T> {
    const prev = this.tail;
    const ack = (async () => {
      await prev;
      // Every write of this mutation (a failure of any rejects it, after all settled).
      let failure: { e: unknown } | undefined;
      for (const p of durable) {
        try {
          await p;
        } catch (e) {
          failure ??= { e };
        }
      }
      if (failure) throw failure.e;
      for (const fn of afters) fn();
      return finish();
    })();
    this.tail = ack.catch(() => undefined);
    return ack;
  }

  /** Resolves once every mutation run so far has been acknowledged (or rejected). */
  settled(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
