// Pre-filters rules so that a decision looks only at rules that could match: per operation,
// and per literal first topic segment. Each candidate list keeps the rules' original order,
// so the first match among candidates is the first match overall.
import { OPERATIONS, type CompiledRule, type Operation, type Policy } from './types.js';

interface OpIndex {
  /** First topic segment → candidates (rules for that head plus the head-independent ones). */
  byHead: Map<string, readonly CompiledRule[]>;
  /** Candidates for a topic whose first segment no rule names literally. */
  other: readonly CompiledRule[];
}

export interface RuleIndex {
  ops: Record<Operation, OpIndex>;
  /** (operation, head, account groups) → candidates that also pass the groups condition. */
  memo: Map<string, readonly CompiledRule[]>;
}

/** Distinct (operation, head, groups) combinations are few in practice; the cap only bounds abuse. */
const MEMO_MAX = 10_000;

/** Literal first segments a rule is limited to, or null when it can match any topic. */
function headsOf(rule: CompiledRule): string[] | null {
  if (!rule.topics) return null;
  const heads: string[] = [];
  for (const g of rule.topics) {
    if (g.literalHead === null) return null;
    heads.push(g.literalHead);
  }
  return heads;
}

function buildOp(rules: readonly CompiledRule[], op: Operation): OpIndex {
  const forOp = rules.filter((r) => !r.operations || r.operations.includes(op));
  const heads = new Set<string>();
  for (const r of forOp) for (const h of headsOf(r) ?? []) heads.add(h);
  const byHead = new Map<string, readonly CompiledRule[]>();
  for (const h of heads) {
    byHead.set(h, forOp.filter((r) => {
      const hs = headsOf(r);
      return hs === null || hs.includes(h);
    }));
  }
  return { byHead, other: forOp.filter((r) => headsOf(r) === null) };
}

// Keyed by the (frozen) policy object, so a Policy stays plain data and a reload simply
// brings a new key; the old index goes with the old policy.
const cache = new WeakMap<Policy, RuleIndex>();

export function ruleIndex(policy: Policy): RuleIndex {
  let idx = cache.get(policy);
  if (!idx) {
    idx = { ops: {} as Record<Operation, OpIndex>, memo: new Map() };
    for (const op of OPERATIONS) idx.ops[op] = buildOp(policy.rules, op);
    cache.set(policy, idx);
  }
  return idx;
}

/**
 * Rules that can match this operation on this topic for an account with these groups, in
 * policy order. The groups test is exactly ruleMatches' own, so skipping a rule here never
 * changes which rule matches first.
 */
export function candidates(idx: RuleIndex, op: Operation, topic: string, groups: readonly string[]): readonly CompiledRule[] {
  const o = idx.ops[op];
  const slash = topic.indexOf('/');
  const head = slash < 0 ? topic : topic.slice(0, slash);
  const byHead = o.byHead.get(head);
  // Length-prefixed parts: no group name, however odd, can make two requests share a key.
  let key = `${op}:${byHead ? head.length : -1}:${byHead ? head : ''}`;
  for (let i = 0; i < groups.length; i++) key += `${groups[i].length}:${groups[i]}`;
  let list = idx.memo.get(key);
  if (!list) {
    list = (byHead ?? o.other).filter((r) => !r.groups || r.groups.some((g) => groups.includes(g)));
    if (idx.memo.size >= MEMO_MAX) idx.memo.clear();
    idx.memo.set(key, list);
  }
  return list;
}
