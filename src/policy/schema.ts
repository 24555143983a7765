// The shape of one policy file (PROTOCOL §12), checked node by node so that every error
// names file and line. Cross-file checks (duplicate ids, undeclared groups) live in load.ts.
import { basename } from 'node:path';
import { LineCounter, isMap, parseDocument, type Node } from 'yaml';
import { Reader } from './yaml-read.js';
import { readRule, readCertAttrs, GROUP_NAME_RE, type GroupRef } from './schema-rule.js';
import { readTopic } from './schema-topic.js';
import { readLimits, type LimitsPart } from './schema-limits.js';
import type { AutoApproveEntry, CompiledRule, PolicyError, TopicDecl } from './types.js';

export interface PolicyPart {
  /** File name without folder. */
  file: string;
  admins: string[];
  groups: { name: string; description: string; line?: number }[];
  autoApprove: AutoApproveEntry[];
  topics: TopicDecl[];
  rules: CompiledRule[];
  /** Every group named by a rule or auto-approval entry, to check against declared groups. */
  groupRefs: GroupRef[];
  /** The file's `limits:` (README "Rate limits"). */
  limits: LimitsPart;
  /** False when the file's groups could not all be read: "group not declared" errors elsewhere then say so. */
  groupsKnown: boolean;
  /**
   * Ids of rules, topics and auto-approval entries that did not validate: still checked for
   * duplicates, so one run reports those too (issue 11).
   */
  unreadIds: { kind: 'rule' | 'topic' | 'entry'; key: string; line?: number }[];
}

const TOP_KEYS = ['admins', 'groups', 'registration', 'topics', 'rules', 'limits'] as const;
const BARE_JID_RE = /^[^@/\s]+@[^@/\s]+$/;
const ENTRY_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Parses and checks one file. `path` is used in errors as given. */
export function parsePolicyFile(path: string, text: string): { part: PolicyPart; errors: PolicyError[] } {
  const part: PolicyPart = { file: basename(path), admins: [], groups: [], autoApprove: [], topics: [], rules: [], limits: { groups: [] }, groupRefs: [], groupsKnown: false, unreadIds: [] };
  const errors: PolicyError[] = [];
  const cut = endMarkerProblem(text);
  if (cut) errors.push({ file: path, ...cut });
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, version: '1.2', schema: 'core' });
  for (const e of [...doc.errors, ...doc.warnings]) {
    const line = e.linePos?.[0]?.line ?? (e.pos ? lc.linePos(e.pos[0]).line : undefined);
    errors.push({ file: path, line, message: `YAML: ${firstLine(e.message)}` });
  }
  const yamlErrors = errors.length - (cut ? 1 : 0);
  if (yamlErrors > 0) {
    // The document cannot be trusted, so its keys and rules are not read. Whether it declares
    // groups can still be told from the text: without a top-level `groups:` it declares none.
    part.groupsKnown = !/^groups\s*:/m.test(text);
    const first = errors.find((e) => e.message.startsWith('YAML: '));
    if (first) first.message += ' (the rest of this file is checked once its YAML parses)';
    return { part, errors };
  }
  const root = doc.contents;
  if (root === null || (root as { value?: unknown }).value === null) {
    part.groupsKnown = true;
    return { part, errors }; // empty file: contributes nothing
  }
  const r = new Reader(path, lc, errors);
  const top = r.map(root, 'policy file', TOP_KEYS);
  if (!top) return { part, errors };

  readAdmins(r, top.get('admins'), part);
  const before = errors.length;
  readGroups(r, top.get('groups'), part);
  part.groupsKnown = errors.length === before;
  readRegistration(r, top.get('registration'), part);
  for (const [i, node] of (optSeq(r, top.get('topics'), 'topics') ?? []).entries()) {
    const t = readTopic(r, node, i + 1, part.file);
    if (t) part.topics.push(t);
    else unread(r, node, 'name', 'topic', part);
  }
  for (const [i, node] of (optSeq(r, top.get('rules'), 'rules') ?? []).entries()) {
    const rule = readRule(r, node, i + 1, part.file, part.groupRefs);
    if (rule) part.rules.push(rule);
    else unread(r, node, 'id', 'rule', part);
  }
  const limits = top.get('limits');
  if (limits !== undefined && !isNullScalar(limits)) part.limits = readLimits(r, limits, part.groupRefs);
  return { part, errors };
}

/** The line every policy file ends with (README "How policy changes are applied"). */
export const END_MARKER = '# end';

/**
 * Why the text is not a whole policy file, or null. The file must end with the line `# end`
 * (and its newline), which occurs nowhere else as a line: then no strict byte-prefix of a
 * valid file is valid, so a file caught half-written (an editor saving in place, an
 * interrupted copy) is rejected instead of applied with its tail missing.
 */
export function endMarkerProblem(text: string): { line: number; message: string } | null {
  const lines = text.split('\n');
  const last = lines.length; // text ends with "\n": the last element is ''
  const at: number[] = [];
  for (let i = 0; i < lines.length; i++) if (lines[i]!.replace(/\r$/, '') === END_MARKER) at.push(i + 1);
  if (lines[last - 1] !== '' || at.at(-1) !== last - 1) {
    return { line: Math.max(1, text.endsWith('\n') ? last - 1 : last), message: `the file does not end with the line '${END_MARKER}': it may be half-written, so it is not applied (end every policy file with '${END_MARKER}' and a newline)` };
  }
  if (at.length > 1) return { line: at[0]!, message: `'${END_MARKER}' occurs before the end of the file (also at line ${at.at(-1)}): only the last line may be '${END_MARKER}'` };
  return null;
}

/** Notes the id (or name) of an item that did not validate, when it has a string one. */
function unread(r: Reader, node: Node, key: string, kind: PolicyPart['unreadIds'][number]['kind'], part: PolicyPart): void {
  const v = isMap(node) ? node.get(key) : undefined;
  if (typeof v === 'string' && v !== '') part.unreadIds.push({ kind, key: v, line: r.line(node) });
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}

/** A top-level list that may be left out or left empty (`rules:` with nothing under it). */
function optSeq(r: Reader, node: Node | undefined, what: string): Node[] | null {
  if (node === undefined || isNullScalar(node)) return null;
  return r.seq(node, what);
}

function isNullScalar(node: unknown): boolean {
  return (node as { value?: unknown } | null)?.value === null && !(node as { items?: unknown }).items;
}

function readAdmins(r: Reader, node: Node | undefined, part: PolicyPart): void {
  for (const item of optSeq(r, node, 'admins') ?? []) {
    const jid = r.string(item, 'each admin');
    if (jid === null) continue;
    if (!BARE_JID_RE.test(jid)) r.error(item, `admin '${jid}' is not a bare JID like admin@grid.test`);
    else part.admins.push(jid.toLowerCase());
  }
}

function readGroups(r: Reader, node: Node | undefined, part: PolicyPart): void {
  if (node === undefined || isNullScalar(node)) return;
  for (const { key, keyNode, value } of r.dict(node, 'groups') ?? []) {
    if (!GROUP_NAME_RE.test(key)) {
      r.error(keyNode, `group name '${key}' must match [a-z0-9][a-z0-9._-]*`);
      continue;
    }
    const description = isNullScalar(value) ? '' : r.string(value, `description of group '${key}'`);
    if (description !== null) part.groups.push({ name: key, description, line: r.line(keyNode) });
  }
}

function readRegistration(r: Reader, node: Node | undefined, part: PolicyPart): void {
  if (node === undefined || isNullScalar(node)) return;
  const reg = r.map(node, 'registration', ['auto_approve']);
  for (const [i, item] of (optSeq(r, reg?.get('auto_approve'), 'registration.auto_approve') ?? []).entries()) {
    const entry = readAutoApprove(r, item, i + 1, part);
    if (entry) part.autoApprove.push(entry);
    else unread(r, item, 'id', 'entry', part);
  }
}

const AUTO_KEYS = ['id', 'issuer', 'subject', 'device_types', 'requested_groups', 'groups', 'description'] as const;

function readAutoApprove(r: Reader, node: Node, n: number, part: PolicyPart): AutoApproveEntry | null {
  const m = r.map(node, `auto_approve entry #${n}`, AUTO_KEYS);
  if (!m) return null;
  const before = r.errors.length;
  const id = m.has('id') ? r.string(m.get('id'), `auto_approve entry #${n}: id`) : null;
  if (!m.has('id')) r.error(node, `auto_approve entry #${n} has no id`);
  else if (id !== null && !ENTRY_ID_RE.test(id)) r.error(m.get('id'), `auto_approve id '${id}' must match [A-Za-z0-9][A-Za-z0-9._-]*`);
  const what = `auto_approve '${id ?? '#' + n}'`;
  // Without an issuer any trust anchor's certificates could be approved unseen: require one.
  if (!m.has('issuer')) r.error(node, `${what} has no issuer: name the CA whose certificates it approves`);
  const issuer = m.has('issuer') ? readCertAttrs(r, m.get('issuer'), `${what}: issuer`) : undefined;
  const subject = m.has('subject') ? readCertAttrs(r, m.get('subject'), `${what}: subject`) : undefined;
  const deviceTypes = m.has('device_types') ? r.stringList(m.get('device_types'), `${what}: device_types`) : undefined;
  const requested = m.has('requested_groups') ? r.stringList(m.get('requested_groups'), `${what}: requested_groups`) : undefined;
  let groups: { value: string; node: Node }[] | null = null;
  if (!m.has('groups')) r.error(node, `${what} has no groups: list the groups given on approval ([] for none)`);
  else {
    const items = r.seq(m.get('groups'), `${what}: groups`);
    // An empty list is meaningful here: approve with no groups.
    groups = items && items.length === 0 ? [] : r.stringList(m.get('groups'), `${what}: groups`);
  }
  const description = m.has('description') ? r.string(m.get('description'), `${what}: description`) : undefined;
  for (const g of [...(requested ?? []), ...(groups ?? [])]) part.groupRefs.push({ group: g.value, line: r.line(g.node), where: what });
  if (r.errors.length > before || id === null || !groups) return null;
  return {
    id, file: part.file, line: r.line(node), groups: groups.map((g) => g.value),
    ...(issuer ? { issuer } : {}), ...(subject ? { subject } : {}),
    ...(deviceTypes ? { deviceTypes: deviceTypes.map((d) => d.value) } : {}),
    ...(requested ? { requestedGroups: requested.map((g) => g.value) } : {}),
    ...(description ? { description } : {}),
  };
}
