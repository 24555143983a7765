// Does one rule match one request? Two forms of the same semantics: `ruleMatches` (fast,
// for decide) and `ruleConditions` (every condition with its verdict, for explain and for
// Decision.matched). A test asserts they agree.
import type { CompiledRule, Operation, PolicySubject } from './types.js';

/** A request after normalisation: bare lower-case JID, topic = the parent of a subtopic. */
export interface Request {
  subject: PolicySubject;
  jid: string;
  operation: Operation;
  topic: string;
}

function certMatches(want: Readonly<Record<string, string>>, have: Record<string, string> | undefined): boolean {
  if (!have) return false;
  for (const k in want) if (have[k] !== want[k]) return false;
  return true;
}

function anyGroup(want: readonly string[], have: readonly string[]): boolean {
  for (let i = 0; i < want.length; i++) if (have.includes(want[i])) return true;
  return false;
}

function anyGlob(globs: readonly { re: RegExp }[], s: string): boolean {
  for (let i = 0; i < globs.length; i++) if (globs[i].re.test(s)) return true;
  return false;
}

/** Cheapest checks first; topics and clients cost a RegExp each. */
export function ruleMatches(rule: CompiledRule, q: Request): boolean {
  const s = q.subject;
  if (rule.operations && !rule.operations.includes(q.operation)) return false;
  if (rule.groups && !anyGroup(rule.groups, s.groups)) return false;
  if (rule.deviceTypes && (s.deviceType === undefined || !rule.deviceTypes.includes(s.deviceType))) return false;
  if (rule.subject && !certMatches(rule.subject, s.cert?.subject)) return false;
  if (rule.issuer && !certMatches(rule.issuer, s.cert?.issuer)) return false;
  if (rule.topics && !anyGlob(rule.topics, q.topic)) return false;
  if (rule.clients && !anyGlob(rule.clients, q.jid)) return false;
  return true;
}

export interface Condition {
  ok: boolean;
  /** "groups: soc" when it matched; "groups: none of [soc] in account groups [partners]" when not. */
  text: string;
}

const list = (xs: readonly string[]): string => `[${xs.join(', ')}]`;
const attrs = (o: Readonly<Record<string, string>>): string => Object.entries(o).map(([k, v]) => `${k}=${v}`).join(', ');

function certCondition(key: 'subject' | 'issuer', want: Readonly<Record<string, string>>, have: Record<string, string> | undefined): Condition {
  if (!have) return { ok: false, text: `${key}: no certificate known for this account (rule wants ${attrs(want)})` };
  const wrong = Object.keys(want).filter((k) => have[k] !== want[k]);
  if (wrong.length === 0) return { ok: true, text: `${key}: ${attrs(want)}` };
  const detail = wrong.map((k) => `${k} is ${have[k] === undefined ? 'absent' : `'${have[k]}'`}, rule wants '${want[k]}'`);
  return { ok: false, text: `${key}: ${detail.join('; ')}` };
}

/** Every condition the rule sets, in a fixed order, each with its verdict. */
export function ruleConditions(rule: CompiledRule, q: Request): Condition[] {
  const s = q.subject;
  const out: Condition[] = [];
  if (rule.operations) {
    const ok = rule.operations.includes(q.operation);
    out.push({ ok, text: ok ? `operations: ${q.operation}` : `operations: ${q.operation} not in ${list(rule.operations)}` });
  }
  if (rule.groups) {
    const hit = rule.groups.filter((g) => s.groups.includes(g));
    out.push(hit.length > 0
      ? { ok: true, text: `groups: ${hit.join(', ')}` }
      : { ok: false, text: `groups: none of ${list(rule.groups)} in account groups ${list(s.groups)}` });
  }
  if (rule.topics) {
    const hit = rule.topics.find((g) => g.re.test(q.topic));
    out.push(hit
      ? { ok: true, text: `topics: ${hit.source}` }
      : { ok: false, text: `topics: ${q.topic} matches none of ${list(rule.topics.map((g) => g.source))}` });
  }
  if (rule.clients) {
    const hit = rule.clients.find((g) => g.re.test(q.jid));
    out.push(hit
      ? { ok: true, text: `clients: ${hit.source}` }
      : { ok: false, text: `clients: ${q.jid} matches none of ${list(rule.clients.map((g) => g.source))}` });
  }
  if (rule.deviceTypes) {
    const dt = s.deviceType;
    const ok = dt !== undefined && rule.deviceTypes.includes(dt);
    out.push({ ok, text: ok ? `device_types: ${dt}` : dt === undefined
      ? `device_types: none declared (rule wants ${list(rule.deviceTypes)})`
      : `device_types: ${dt} not in ${list(rule.deviceTypes)}` });
  }
  if (rule.subject) out.push(certCondition('subject', rule.subject, s.cert?.subject));
  if (rule.issuer) out.push(certCondition('issuer', rule.issuer, s.cert?.issuer));
  return out;
}
