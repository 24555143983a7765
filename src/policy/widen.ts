// What a reload opens up: every (account, operation, topic) the new policy permits where the
// old one denied, or releases more of (a higher max_tlp, unmarked objects let through), grouped
// by the new rule that decides it. The watcher logs this at warn (PROTOCOL §12 reloads).
import { decide } from './decide.js';
import { tlpRank } from '../filters/tlp.js';
import { OPERATIONS, type Decision, type Operation, type Policy, type PolicySubject } from './types.js';

export interface Widening {
  jid: string;
  operation: Operation;
  topic: string;
  /** e.g. "deny (no rule)", "permit by partners-consume, max_tlp green". */
  before: string;
  after: string;
}

export interface WideningByRule {
  rule: string;
  file?: string;
  line?: number;
  /** Accounts that may do more because of this rule. */
  accounts: number;
  decisions: number;
  /** The first few widened decisions. */
  examples: Widening[];
}

const EXAMPLES = 5;

function releaseRank(d: Decision): number {
  return d.maxTlp ? tlpRank(d.maxTlp) : Number.POSITIVE_INFINITY;
}

/** True when `after` lets the account do or receive something `before` did not. */
export function isWider(before: Decision, after: Decision): boolean {
  if (after.effect !== 'permit') return false;
  if (before.effect !== 'permit') return true;
  if (releaseRank(after) > releaseRank(before)) return true;
  return before.unmarked === 'deny' && after.unmarked !== 'deny';
}

function describe(d: Decision): string {
  const by = d.ruleId ? ` by ${d.ruleId}` : ' (no rule)';
  const caps = [d.maxTlp ? `max_tlp ${d.maxTlp}` : '', d.unmarked === 'deny' ? 'unmarked deny' : ''].filter(Boolean).join(', ');
  return `${d.effect}${by}${caps ? `, ${caps}` : ''}`;
}

/** Topics worth asking about: those given, those either policy declares, and literal topic globs of rules. */
function topicsOf(prev: Policy, next: Policy, known: readonly string[]): string[] {
  const out = new Set(known);
  for (const p of [prev, next]) {
    for (const t of p.topics) out.add(t.name);
    for (const r of p.rules) for (const g of r.topics ?? []) if (!g.source.includes('*')) out.add(g.source);
  }
  return [...out].sort();
}

/**
 * Widened decisions of `next` over `prev` for these accounts, by deciding rule. Yields to the
 * event loop every `yieldEvery` decisions, so a large grid's reload does not stall requests.
 */
export async function findWidenings(prev: Policy, next: Policy, subjects: readonly PolicySubject[], knownTopics: readonly string[], yieldEvery = 5000): Promise<WideningByRule[]> {
  const topics = topicsOf(prev, next, knownTopics);
  const byRule = new Map<string, WideningByRule & { jids: Set<string> }>();
  let n = 0;
  for (const s of subjects) {
    for (const topic of topics) {
      for (const op of OPERATIONS) {
        if (++n % yieldEvery === 0) await new Promise<void>((r) => setImmediate(r));
        const before = decide(prev, s, op, topic);
        const after = decide(next, s, op, topic);
        if (!isWider(before, after)) continue;
        const rule = next.rules.find((r) => r.id === after.ruleId);
        const key = after.ruleId ?? '';
        let entry = byRule.get(key);
        if (!entry) byRule.set(key, (entry = { rule: key, ...(rule ? { file: rule.file, line: rule.line } : {}), accounts: 0, decisions: 0, examples: [], jids: new Set() }));
        entry.decisions++;
        entry.jids.add(s.jid);
        if (entry.examples.length < EXAMPLES) entry.examples.push({ jid: s.jid, operation: op, topic, before: describe(before), after: describe(after) });
      }
    }
  }
  return [...byRule.values()].map(({ jids, ...w }) => ({ ...w, accounts: jids.size }));
}

/** Any pino-like logger. */
interface WarnLogger {
  warn(obj: object, msg?: string): void;
}

/** Finds what `next` widens over `previous` for these accounts and logs it at warn; returns it. */
export async function reportWidening(log: WarnLogger, previous: Policy, next: Policy, subjects: readonly PolicySubject[], knownTopics: readonly string[]): Promise<WideningByRule[]> {
  const widened = await findWidenings(previous, next, subjects, knownTopics);
  if (widened.length) {
    log.warn({ audit: 'policy-widened', rules: widened }, `policy reload widens access for existing accounts (rules: ${widened.map((w) => w.rule || '(none)').join(', ')})`);
  }
  return widened;
}
