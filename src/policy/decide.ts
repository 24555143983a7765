// decide() and explain(): ordered rules, first match decides, no match denies (PROTOCOL §4).
import { topicOfNode } from './glob.js';
import { bareJid } from '../jid.js';
import { ruleConditions, ruleMatches, type Request } from './match.js';
import { candidates, ruleIndex } from './rule-index.js';
import { OPERATIONS, type CompiledRule, type Decision, type Explanation, type Operation, type Policy, type PolicySubject, type TraceEntry } from './types.js';

const denyAll = (): Decision => ({ effect: 'deny', ruleId: null, matched: [] });

/** Normalises a request, or says why it cannot be judged (which denies it). */
function request(subject: PolicySubject, operation: string, node: string): Request | string {
  // Callers are typed, but a decision point must not throw on what slipped past the types.
  if (typeof subject?.jid !== 'string' || !Array.isArray(subject.groups)) return 'the subject needs a jid and a list of groups';
  if (typeof node !== 'string') return 'no topic given';
  if (!(OPERATIONS as readonly string[]).includes(operation)) return `unknown operation '${operation}' (known: ${OPERATIONS.join(', ')})`;
  const topic = topicOfNode(node);
  if (topic === null) return `'${node}' is neither a valid topic name nor a subtopic node id`;
  return { subject, jid: bareJid(subject.jid), operation: operation as Operation, topic };
}

function decisionOf(rule: CompiledRule, q: Request): Decision {
  const d: Decision = {
    effect: rule.effect,
    ruleId: rule.id,
    file: rule.file,
    matched: ruleConditions(rule, q).map((c) => c.text),
  };
  if (rule.effect === 'permit') {
    if (rule.maxTlp) d.maxTlp = rule.maxTlp;
    if (rule.unmarked) d.unmarked = rule.unmarked;
  }
  return d;
}

/**
 * Decides whether `subject` may do `operation` on `topic` (a topic name or a subtopic node
 * id, which is judged by its parent). Never throws; anything malformed is denied.
 */
export function decide(policy: Policy, subject: PolicySubject, operation: Operation, topic: string): Decision {
  const q = request(subject, operation, topic);
  if (typeof q === 'string') return denyAll();
  const list = candidates(ruleIndex(policy), q.operation, q.topic, subject.groups);
  for (let i = 0; i < list.length; i++) {
    if (ruleMatches(list[i], q)) return decisionOf(list[i], q);
  }
  return denyAll();
}

/**
 * The same decision as decide(), with every rule looked at up to the deciding one: why each
 * earlier rule was skipped. Walks all rules (no index): meant for people, not for traffic.
 */
export function explain(policy: Policy, subject: PolicySubject, operation: Operation, topic: string): Explanation {
  const q = request(subject, operation, topic);
  if (typeof q === 'string') return { decision: denyAll(), trace: [], note: q };
  const trace: TraceEntry[] = [];
  for (const rule of policy.rules) {
    const conds = ruleConditions(rule, q);
    const failed = conds.filter((c) => !c.ok);
    if (failed.length > 0) {
      trace.push({ ruleId: rule.id, file: rule.file, result: 'skipped', why: failed.map((c) => c.text).join('; ') });
      continue;
    }
    const why = conds.length > 0 ? conds.map((c) => c.text).join('; ') : 'the rule sets no conditions: it matches everything';
    trace.push({ ruleId: rule.id, file: rule.file, result: 'matched', why });
    return { decision: decisionOf(rule, q), trace };
  }
  return { decision: denyAll(), trace, note: 'no rule matched: default deny' };
}

/** True when `jid` is one of the policy's administrators. */
export function isAdmin(policy: Policy, jid: string): boolean {
  return policy.admins.includes(bareJid(jid));
}
