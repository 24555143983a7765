// One rule of `rules:` (PROTOCOL §12), checked and compiled (globs → RegExp) in one pass.
import type { Node } from 'yaml';
import type { Reader } from './yaml-read.js';
import { compileClientGlob, compileTopicGlob } from './glob.js';
import { OPERATIONS, TLP_ORDER, type CompiledRule, type Effect, type Glob, type Operation, type Tlp, type Unmarked } from './types.js';

export interface GroupRef {
  group: string;
  line?: number;
  /** e.g. "rule 'soc-consume'". */
  where: string;
}

export const GROUP_NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;
const RULE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CERT_KEYS = ['O', 'OU', 'CN'] as const;
/** The keys that say whom a rule is about; a permit rule needs at least one. */
const WHOM_KEYS = ['groups', 'clients', 'device_types', 'subject', 'issuer'] as const;
const RULE_KEYS = [
  'id', 'effect', 'operations', 'groups', 'topics', 'clients', 'device_types',
  'subject', 'issuer', 'max_tlp', 'unmarked', 'description',
] as const;

/** Certificate attributes `{ O?, OU?, CN? }`, exact match. */
export function readCertAttrs(r: Reader, node: unknown, what: string): Record<string, string> | undefined {
  const m = r.map(node, what, CERT_KEYS);
  if (!m) return undefined;
  if (m.size === 0) {
    r.error(node, `${what} is empty, which matches anything; leave the key out instead`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of m) {
    const s = r.string(v, `${what}.${k}`);
    if (s !== null) out[k] = s;
  }
  return Object.keys(out).length === m.size ? out : undefined;
}

function readGlobs(r: Reader, node: Node | undefined, what: string, compile: (g: string) => Glob | string): Glob[] | null | undefined {
  if (node === undefined) return null;
  const list = r.stringList(node, what);
  if (!list) return undefined;
  const out: Glob[] = [];
  for (const { value, node: n } of list) {
    const g = compile(value);
    if (typeof g === 'string') r.error(n, `${what}: ${g}`);
    else out.push(g);
  }
  return out.length === list.length ? out : undefined;
}

function readOperations(r: Reader, node: Node | undefined, what: string): Operation[] | null | undefined {
  if (node === undefined) return null;
  const list = r.stringList(node, what);
  if (!list) return undefined;
  let ok = true;
  for (const { value, node: n } of list) {
    if (!(OPERATIONS as readonly string[]).includes(value)) {
      r.error(n, `${what}: unknown operation '${value}' (known: ${OPERATIONS.join(', ')})`);
      ok = false;
    }
  }
  return ok ? list.map((o) => o.value as Operation) : undefined;
}

/** Reads `max_tlp`; `white` is accepted as the TLP 1.0 name of `clear`. */
function readTlp(r: Reader, node: Node, what: string): Tlp | undefined {
  const s = r.string(node, what);
  if (s === null) return undefined;
  const t = s.toLowerCase() === 'white' ? 'clear' : s.toLowerCase();
  if (!(TLP_ORDER as readonly string[]).includes(t)) {
    r.error(node, `${what} '${s}' is not a TLP level (${TLP_ORDER.join(', ')})`);
    return undefined;
  }
  return t as Tlp;
}

/** Returns the compiled rule, or null after reporting its errors. `n` is its position in the file. */
export function readRule(r: Reader, node: Node, n: number, file: string, refs: GroupRef[]): CompiledRule | null {
  const m = r.map(node, `rule #${n}`, RULE_KEYS);
  if (!m) return null;
  const before = r.errors.length;
  let id: string | null = null;
  if (!m.has('id')) r.error(node, `rule #${n} has no id`);
  else {
    id = r.string(m.get('id'), `rule #${n}: id`);
    if (id !== null && !RULE_ID_RE.test(id)) r.error(m.get('id'), `rule id '${id}' must match [A-Za-z0-9][A-Za-z0-9._-]*`);
  }
  const what = `rule '${id ?? '#' + n}'`;
  let effect: Effect | null = null;
  if (!m.has('effect')) r.error(node, `${what} has no effect (permit or deny)`);
  else effect = r.oneOf(m.get('effect'), `${what}: effect`, ['permit', 'deny'] as const);

  const operations = readOperations(r, m.get('operations'), `${what}: operations`);
  const topics = readGlobs(r, m.get('topics'), `${what}: topics`, compileTopicGlob);
  const clients = readGlobs(r, m.get('clients'), `${what}: clients`, compileClientGlob);
  const groups = m.has('groups') ? r.stringList(m.get('groups'), `${what}: groups`) : null;
  for (const g of groups ?? []) refs.push({ group: g.value, line: r.line(g.node), where: what });
  const deviceTypes = m.has('device_types') ? r.stringList(m.get('device_types'), `${what}: device_types`) : null;
  const subject = m.has('subject') ? readCertAttrs(r, m.get('subject'), `${what}: subject`) : null;
  const issuer = m.has('issuer') ? readCertAttrs(r, m.get('issuer'), `${what}: issuer`) : null;
  const maxTlp = m.has('max_tlp') ? readTlp(r, m.get('max_tlp') as Node, `${what}: max_tlp`) : undefined;
  const unmarked = m.has('unmarked') ? r.oneOf(m.get('unmarked'), `${what}: unmarked`, ['allow', 'deny'] as const) : undefined;
  const description = m.has('description') ? r.string(m.get('description'), `${what}: description`) : undefined;
  // A permit that names nobody permits everyone: a rule cut short (or written in haste) must
  // not open a topic to every account, so everyone is said explicitly with clients: ["*"].
  if (effect === 'permit' && !WHOM_KEYS.some((k) => m.has(k))) {
    r.error(node, `${what} permits without naming whom: give groups, clients, device_types, subject or issuer (for every account: clients: ["*"])`);
  }
  if (effect === 'deny') {
    // A cap on what is released only means something where something is released.
    for (const k of ['max_tlp', 'unmarked']) {
      if (m.has(k)) r.error(m.get(k), `${what}: ${k} only applies to permit rules`);
    }
  }
  if (r.errors.length > before || id === null || effect === null) return null;
  // Every key always present, in one order: all rules share one hidden class, which keeps
  // the matcher monomorphic (measured: about twice the decisions per second).
  return {
    id, effect, file, line: r.line(node), description: description ?? undefined,
    operations: operations ?? null,
    groups: groups ? groups.map((g) => g.value) : null,
    topics: topics ?? null,
    clients: clients ?? null,
    deviceTypes: deviceTypes ? deviceTypes.map((d) => d.value) : null,
    subject: subject ?? null,
    issuer: issuer ?? null,
    maxTlp: maxTlp ?? undefined,
    unmarked: (unmarked ?? undefined) as Unmarked | undefined,
  };
}
