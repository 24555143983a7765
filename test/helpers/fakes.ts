// In-memory stand-ins for unit tests of the pure core (the real stores have their own contract suites).
import type { ControlSource, ControlStore } from '../../src/store/types.js';
import { parsePolicyText } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/types.js';

/**
 * The one in-memory ControlStore of the tests: copy-on-write, so a throwing mutator changes
 * nothing, and closed like the real one. It passes the behaviour part of the control store
 * contract (test/contract/store-control-memory.test.ts); durability is the real stores' part.
 * `writes` counts updates; `source` is what opening reports (default 'defaults').
 */
export function memoryStore<T>(initial: T, o: { source?: ControlSource } = {}): ControlStore<T> & { writes: number } {
  let closed = false;
  const s = {
    data: structuredClone(initial),
    source: o.source ?? 'defaults',
    writes: 0,
    async update(fn: (d: T) => void) {
      if (closed) throw new Error('control store is closed');
      const copy = structuredClone(s.data);
      fn(copy);
      s.data = copy;
      s.writes++;
    },
    async close() {
      closed = true;
    },
  };
  return s;
}

/** A policy from the text of one file without its end line (appended here: schema.ts endMarkerProblem). */
export function policyOf(text: string): Policy {
  const r = parsePolicyText(text + '# end\n');
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}: ${e.message}`).join('; '));
  return r.policy;
}

/** A cluster's `sync` and `exclusive` for the core, recording 'sync', 'lock' and 'unlock' in `steps`. */
export function recordingTurns(steps: string[]) {
  return {
    sync: async () => void steps.push('sync'),
    exclusive: async <R>(fn: () => Promise<R>): Promise<R> => {
      steps.push('lock');
      try {
        return await fn();
      } finally {
        steps.push('unlock');
      }
    },
  };
}
