// In-memory stand-ins for unit tests of the pure core (the real stores have their own contract suites).
import type { ControlStore } from '../../src/store/types.js';
import { parsePolicyText } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/types.js';

export function memoryStore<T>(initial: T): ControlStore<T> & { writes: number } {
  const s = {
    data: structuredClone(initial),
    source: 'defaults' as const,
    writes: 0,
    async update(fn: (d: T) => void) {
      const copy = structuredClone(s.data);
      fn(copy);
      s.data = copy;
      s.writes++;
    },
    async close() {},
  };
  return s;
}

/** A policy from the text of one file without its end line (appended here: schema.ts endMarkerProblem). */
export function policyOf(text: string): Policy {
  const r = parsePolicyText(text + '# end\n');
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}: ${e.message}`).join('; '));
  return r.policy;
}
