// `limits:` of a policy file (README "Rate limits"): the defaults for every account, what
// each group raises or lowers, and when sustained abuse suspends an account.
//
//   limits:
//     defaults: { iq_per_s: 100, iq_burst: 200, publish_per_s: 50, delay_ms: 2000, ... }
//     groups:
//       providers: { publish_per_s: 500, publish_burst: 2000 }
//     suspend: { violations: 3000, within_s: 60, over_rate_s: 54 }     # or: suspend: off
import type { Node } from 'yaml';
import { isScalar } from 'yaml';
import type { Reader } from './yaml-read.js';
import { GROUP_NAME_RE, type GroupRef } from './schema-rule.js';
import { RATE_KEYS, overRateDefault, type RateLimits, type SuspendRule } from '../limits/types.js';

/** What one file says about limits; load.ts merges the files (each part said once). */
export interface LimitsPart {
  defaults?: { values: Partial<RateLimits>; line?: number };
  groups: { group: string; values: Partial<RateLimits>; line?: number }[];
  suspend?: { rule: SuspendRule | null; line?: number };
}

const LIMITS_KEYS = ['defaults', 'groups', 'suspend'] as const;
/** Upper bounds that keep arithmetic sane; far above anything useful. */
const MAX_RATE = 1_000_000_000;
/** A request held longer than a minute would outlast any client's timeout. */
const MAX_DELAY_MS = 60_000;

export function readLimits(r: Reader, node: Node, groupRefs: GroupRef[]): LimitsPart {
  const part: LimitsPart = { groups: [] };
  const m = r.map(node, 'limits', LIMITS_KEYS);
  if (!m) return part;
  if (m.has('defaults')) {
    const values = readRates(r, m.get('defaults'), 'limits.defaults');
    if (values) part.defaults = { values, line: r.line(m.get('defaults')) };
  }
  if (m.has('groups')) {
    for (const { key, keyNode, value } of r.dict(m.get('groups'), 'limits.groups') ?? []) {
      if (!GROUP_NAME_RE.test(key)) {
        r.error(keyNode, `limits.groups: group name '${key}' must match [a-z0-9][a-z0-9._-]*`);
        continue;
      }
      groupRefs.push({ group: key, line: r.line(keyNode), where: 'limits.groups' });
      const values = readRates(r, value, `limits.groups.${key}`);
      if (values) part.groups.push({ group: key, values, line: r.line(keyNode) });
    }
  }
  if (m.has('suspend')) {
    const s = m.get('suspend')!;
    const line = r.line(s);
    if (isScalar(s) && s.value === 'off') part.suspend = { rule: null, line };
    else {
      const sm = r.map(s, "limits.suspend (or 'off')", ['violations', 'within_s', 'over_rate_s']);
      if (sm) {
        const before = r.errors.length;
        if (!sm.has('violations')) r.error(s, 'limits.suspend needs violations (refused requests that suspend the account)');
        if (!sm.has('within_s')) r.error(s, 'limits.suspend needs within_s (the seconds they are counted over)');
        const violations = sm.has('violations') ? r.positiveInt(sm.get('violations'), 'limits.suspend.violations', MAX_RATE) : null;
        const within = sm.has('within_s') ? r.positiveInt(sm.get('within_s'), 'limits.suspend.within_s', 86_400) : null;
        const over = sm.has('over_rate_s') ? r.positiveInt(sm.get('over_rate_s'), 'limits.suspend.over_rate_s', 86_400) : null;
        if (over && within && over > within) r.error(sm.get('over_rate_s'), `limits.suspend.over_rate_s (${over}) must be at most within_s (${within})`);
        if (r.errors.length === before && violations && within) {
          part.suspend = { rule: { violations, within_s: within, over_rate_s: over ?? overRateDefault(within) }, line };
        }
      }
    }
  }
  return part;
}

function readRates(r: Reader, node: unknown, what: string): Partial<RateLimits> | null {
  const m = r.map(node, what, RATE_KEYS);
  if (!m) return null;
  const before = r.errors.length;
  const out: Partial<RateLimits> = {};
  for (const k of RATE_KEYS) {
    if (!m.has(k)) continue;
    const node = m.get(k);
    // delay_ms 0: never hold a request over its rate (refuse it at once).
    const v = k === 'delay_ms' && isScalar(node) && node.value === 0 ? 0 : r.positiveInt(node, `${what}.${k}`, k === 'delay_ms' ? MAX_DELAY_MS : MAX_RATE);
    if (v !== null) out[k] = v;
  }
  // A burst below its rate would refuse requests the rate allows: say so where it is written.
  for (const [rate, burst] of [['iq_per_s', 'iq_burst'], ['publish_per_s', 'publish_burst'], ['payload_bytes_per_s', 'payload_burst_bytes']] as const) {
    if (out[rate] !== undefined && out[burst] !== undefined && out[burst]! < out[rate]!) {
      r.error(m.get(burst), `${what}.${burst} (${out[burst]}) is below ${rate} (${out[rate]}): a burst holds at least one second's worth`);
    }
  }
  return r.errors.length === before ? out : null;
}
