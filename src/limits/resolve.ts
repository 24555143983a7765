// An account's limits from the policy: per key, the highest value among the account's groups
// that set it, else the default. Memoised per policy object and group set, so the limiter
// can tell by identity whether an account's limits changed.
import { RATE_KEYS, type LimitsPolicy, type RateLimits } from './types.js';

const memo = new WeakMap<LimitsPolicy, Map<string, Readonly<RateLimits>>>();

export function limitsFor(policy: LimitsPolicy, groups: readonly string[]): Readonly<RateLimits> {
  let byGroups = memo.get(policy);
  if (!byGroups) {
    byGroups = new Map();
    memo.set(policy, byGroups);
  }
  const key = [...groups].sort().join(',');
  let r = byGroups.get(key);
  if (!r) {
    const out = { ...policy.defaults };
    for (const k of RATE_KEYS) {
      const set = groups.map((g) => (Object.hasOwn(policy.groups, g) ? policy.groups[g]![k] : undefined)).filter((v): v is number => v !== undefined);
      if (set.length) out[k] = Math.max(...set);
    }
    r = Object.freeze(out);
    byGroups.set(key, r);
  }
  return r;
}
