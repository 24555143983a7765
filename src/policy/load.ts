// Loads a policy folder: every `*.yaml` file, merged in file-name order (PROTOCOL §12).
// All or nothing: any error in any file rejects the whole folder, so a half-edited policy
// never goes live.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parsePolicyFile, type PolicyPart } from './schema.js';
import type { LoadResult, Policy, PolicyError } from './types.js';
import { DEFAULT_LIMITS_POLICY, type LimitsPolicy } from '../limits/types.js';

/** Which files of a folder are policy files, in the order their rules apply. */
export function policyFileNames(dir: string): { names: string[]; errors: PolicyError[] } {
  const errors: PolicyError[] = [];
  const names: string[] = [];
  // Plain code-unit order, not the locale's: the order must not depend on the machine.
  for (const name of readdirSync(dir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (name.startsWith('.')) continue; // editor swap files and other hidden files
    if (name.endsWith('.yml')) {
      // Silently skipping it could drop a deny rule: make the mistake loud instead.
      errors.push({ file: join(dir, name), message: 'only *.yaml files are read: rename it to .yaml (or move it out of the folder)' });
      continue;
    }
    if (!name.endsWith('.yaml')) continue;
    if (!statSync(join(dir, name)).isFile()) {
      errors.push({ file: join(dir, name), message: 'is not a regular file' });
      continue;
    }
    names.push(name);
  }
  return { names, errors };
}

/** Loads and validates every policy file of `dir`. A folder without files is valid and denies everything. */
export function loadPolicyDir(dir: string): LoadResult {
  let listing: { names: string[]; errors: PolicyError[] };
  try {
    if (!statSync(dir).isDirectory()) return { ok: false, errors: [{ file: dir, message: 'is not a folder' }] };
    listing = policyFileNames(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'policy folder does not exist' : `cannot read policy folder: ${(e as Error).message}`;
    return { ok: false, errors: [{ file: dir, message }] };
  }
  return loadFiles(listing.names.map((name) => ({ name, path: join(dir, name) })), listing.errors, (file) => join(dir, file));
}

/**
 * The folder as a reload would see it once the `staged` files are moved in (PROTOCOL §12,
 * `policy check FILE…`): each replaces the folder's file of the same name or joins the folder;
 * errors in a staged file name the staged path.
 */
export function loadPolicyDirWith(dir: string, staged: readonly string[]): LoadResult & { replaced: string[]; added: string[] } {
  const errors: PolicyError[] = [];
  let names: string[] = [];
  try {
    if (!statSync(dir).isDirectory()) errors.push({ file: dir, message: 'is not a folder' });
    else {
      const listing = policyFileNames(dir);
      names = listing.names;
      errors.push(...listing.errors);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    errors.push({ file: dir, message: code === 'ENOENT' ? 'policy folder does not exist' : `cannot read policy folder: ${(e as Error).message}` });
  }
  const byName = new Map<string, string>();
  for (const path of staged) {
    const name = basename(path);
    if (name.startsWith('.') || !name.endsWith('.yaml')) {
      errors.push({ file: path, message: 'a policy file is named *.yaml (and not hidden): the reload would not read it under this name' });
      continue;
    }
    const other = byName.get(name);
    if (other) {
      errors.push({ file: path, message: `staged twice under the name ${name} (also ${other}): only one can be moved in` });
      continue;
    }
    byName.set(name, path);
  }
  const replaced = names.filter((n) => byName.has(n));
  const added = [...byName.keys()].filter((n) => !names.includes(n));
  const all = [...new Set([...names, ...byName.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const pathOf = (file: string) => byName.get(file) ?? join(dir, file);
  return { ...loadFiles(all.map((name) => ({ name, path: pathOf(name) })), errors, pathOf), replaced, added };
}

function loadFiles(files: { name: string; path: string }[], listingErrors: PolicyError[], pathOf: (file: string) => string): LoadResult {
  const errors = [...listingErrors];
  const parts: PolicyPart[] = [];
  for (const { path } of files) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      // The file may vanish between readdir and read while someone edits the folder.
      errors.push({ file: path, message: `cannot read: ${(e as Error).message}` });
      continue;
    }
    const { part, errors: fileErrors } = parsePolicyFile(path, text);
    errors.push(...fileErrors);
    parts.push(part);
  }
  return finish(parts, errors, pathOf);
}

/** Loads policy from YAML text, as if it were the only file of a folder (for tests and tools). */
export function parsePolicyText(text: string, file = 'policy.yaml'): LoadResult {
  const { part, errors } = parsePolicyFile(file, text);
  return finish([part], errors, (f) => f);
}

function finish(parts: PolicyPart[], errors: PolicyError[], pathOf: (file: string) => string): LoadResult {
  // Merge even when a file failed, so one run reports cross-file problems too.
  const merged = merge(parts, pathOf);
  const all = [...errors, ...merged.errors];
  if (all.length > 0) return { ok: false, errors: sortErrors(all) };
  return { ok: true, policy: freeze(merged.policy) };
}

function merge(parts: PolicyPart[], pathOf: (file: string) => string): { policy: Policy; errors: PolicyError[] } {
  const errors: PolicyError[] = [];
  const policy: Policy = { admins: [], groups: {}, autoApprove: [], topics: [], rules: [], limits: builtinLimits(), files: [], loadedAt: new Date().toISOString() };
  for (const p of parts) {
    for (const g of p.groups) if (!(g.name in policy.groups)) policy.groups[g.name] = g.description;
  }
  const seen = { rule: new Map<string, string>(), entry: new Map<string, string>(), topic: new Map<string, string>(), limits: new Map<string, string>() };
  const dup = (kind: keyof typeof seen, label: string, key: string, file: string, line?: number): boolean => {
    const first = seen[kind].get(key);
    if (first) {
      errors.push({ file: pathOf(file), line, message: `${label} '${key}' is already defined at ${first}` });
      return true;
    }
    seen[kind].set(key, `${file}:${line ?? '?'}`);
    return false;
  };
  for (const p of parts) {
    policy.files.push(p.file);
    for (const a of p.admins) if (!policy.admins.includes(a)) policy.admins.push(a);
    // Only while every file's groups are known (a file with broken YAML but no `groups:` declares
    // none): else a group declared in the broken file would be reported missing elsewhere.
    for (const ref of parts.every((q) => q.groupsKnown) ? p.groupRefs : []) {
      if (!(ref.group in policy.groups)) {
        const known = Object.keys(policy.groups).join(', ') || 'none';
        errors.push({ file: pathOf(p.file), line: ref.line, message: `${ref.where}: group '${ref.group}' is not declared under groups (declared: ${known})` });
      }
    }
    // Valid items and those that failed (their ids still count) in file order, so a
    // duplicate is found whether or not either copy has other errors.
    const inOrder = <T extends { line?: number }>(valid: T[], kind: PolicyPart['unreadIds'][number]['kind'], key: (x: T) => string) =>
      [...valid.map((v) => ({ key: key(v), line: v.line, item: v as T | null })),
        ...p.unreadIds.filter((u) => u.kind === kind).map((u) => ({ key: u.key, line: u.line, item: null as T | null }))]
        .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    for (const e of inOrder(p.autoApprove, 'entry', (x) => x.id)) if (!dup('entry', 'auto_approve id', e.key, p.file, e.line) && e.item) policy.autoApprove.push(e.item);
    for (const t of inOrder(p.topics, 'topic', (x) => x.name)) if (!dup('topic', 'topic', t.key, p.file, t.line) && t.item) policy.topics.push(t.item);
    for (const r of inOrder(p.rules, 'rule', (x) => x.id)) if (!dup('rule', 'rule id', r.key, p.file, r.line) && r.item) policy.rules.push(r.item);
    mergeLimits(policy.limits, p, (key, line) => dup('limits', 'limits', key, p.file, line));
  }
  return { policy, errors };
}

function builtinLimits(): LimitsPolicy {
  return structuredClone(DEFAULT_LIMITS_POLICY);
}

/** Each of limits.defaults, limits.suspend and limits.groups.<g> may be said in one file only. */
function mergeLimits(into: LimitsPolicy, p: PolicyPart, dup: (key: string, line?: number) => boolean): void {
  const l = p.limits;
  if (l.defaults && !dup('defaults', l.defaults.line)) Object.assign(into.defaults, l.defaults.values);
  if (l.suspend && !dup('suspend', l.suspend.line)) into.suspend = l.suspend.rule;
  for (const g of l.groups) if (!dup(`groups.${g.group}`, g.line)) into.groups[g.group] = g.values;
}

function sortErrors(errors: PolicyError[]): PolicyError[] {
  return [...errors].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.line ?? 0) - (b.line ?? 0)));
}

/** Policies are shared by every request in flight: freeze so none can change one under another. */
function freeze(p: Policy): Policy {
  const deep = (o: unknown): void => {
    if (o === null || typeof o !== 'object' || o instanceof RegExp || Object.isFrozen(o)) return;
    Object.freeze(o);
    for (const v of Object.values(o)) deep(v);
  };
  deep(p);
  return p;
}
