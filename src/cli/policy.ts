// `grid-controller policy check|explain` (PROTOCOL §11): validate policy files and show
// how a request would be decided, without a running controller.
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import {
  OPERATIONS, explain, formatPolicyError, loadPolicyDir, loadPolicyDirWith,
  type Explanation, type LoadResult, type Operation, type Policy, type PolicySubject,
} from '../policy/index.js';

export interface PolicyCommandDeps {
  /** Looks up the account of a JID (groups, device type, certificate) from the controller's state. */
  lookupSubject?: (jid: string, configPath?: string) => Promise<PolicySubject | undefined>;
  /** Where lines go; default stdout. */
  print?: (line: string) => void;
}

const DEFAULT_DIR = 'policies/';

/** The policies folder: an explicit DIR, else the config file's `policies:` (relative to the file), else policies/. */
export function policyDirFrom(dir: string | undefined, configPath: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (dir) return dir;
  if (env.GRID_POLICIES) return env.GRID_POLICIES;
  if (!configPath) return DEFAULT_DIR;
  const doc = parseYaml(readFileSync(configPath, 'utf8')) as { policies?: unknown } | null;
  const p = doc?.policies;
  if (p === undefined || p === null) return resolve(dirname(configPath), DEFAULT_DIR);
  if (typeof p !== 'string' || p === '') throw new Error(`${configPath}: policies must be a folder path`);
  return resolve(dirname(configPath), p);
}

function configOf(cmd: Command): string | undefined {
  return cmd.optsWithGlobals<{ config?: string }>().config;
}

/** Loads the folder or prints its errors and sets exit code 1. */
function loadOrReport(dir: string, print: (l: string) => void): Policy | null {
  return reported(loadPolicyDir(dir), `in ${dir}: the policy would be rejected`, print);
}

/** Prints every error of `r` (all of them: the loader checks everything in one pass) and sets exit code 1. */
function reported(r: LoadResult, what: string, print: (l: string) => void): Policy | null {
  if (r.ok) return r.policy;
  for (const e of r.errors) print(formatPolicyError(e));
  print(`${r.errors.length} error${r.errors.length === 1 ? '' : 's'} ${what}`);
  process.exitCode = 1;
  return null;
}

/** Exit code 2: the command was asked wrongly (no policy was judged). */
function usage(message: string, print: (l: string) => void): void {
  print(`grid-controller policy check: ${message}`);
  process.exitCode = 2;
}

/** Which arguments of `policy check` are a folder and which staged files; null after a usage error. */
function checkTargets(paths: string[], print: (l: string) => void): { dir?: string; staged: string[] } | null {
  const kinds = paths.map((p) => {
    try {
      const st = statSync(p);
      return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    } catch {
      return 'missing';
    }
  });
  const bad = paths.findIndex((_, i) => kinds[i] === 'missing' || kinds[i] === 'other');
  if (bad !== -1) {
    usage(`${paths[bad]}: ${kinds[bad] === 'missing' ? 'no such file or folder' : 'neither a file nor a folder'}`, print);
    return null;
  }
  if (kinds.includes('dir')) {
    if (paths.length > 1) {
      usage('give one policy folder, or staged files (the live folder then comes from --dir, --config or policies/), not both', print);
      return null;
    }
    return { dir: paths[0]!, staged: [] };
  }
  return { staged: paths };
}

/** `policy check FILE…`: the staged files with the live folder, as the reload would see them once moved in. */
function checkStaged(folder: string, staged: string[], print: (l: string) => void): void {
  const r = loadPolicyDirWith(folder, staged);
  const names = staged.map((f) => basename(f)).join(', ');
  const p = reported(r, `with ${names} moved into ${folder}: the reload would reject the change and keep the live policy`, print);
  if (!p) return;
  const lines = summary(folder, p);
  const how = [...r.replaced.map((n) => `${n} replaces ${resolve(folder, n)}`), ...r.added.map((n) => `${n} is new`)];
  lines[0] = `${folder} with ${staged.join(', ')} moved in: OK, ${p.files.length} file${p.files.length === 1 ? '' : 's'} (${p.files.join(', ') || 'none'})`;
  lines.splice(1, 0, `  staged: ${how.join('; ')}`);
  for (const l of lines) print(l);
  print(`  move them in with mv (one file system, so each rename is atomic); the controller applies the folder once it is quiet`);
}

export function summary(dir: string, p: Policy): string[] {
  const n = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;
  const lines = [
    `${dir}: OK, ${n(p.files.length, 'file')} (${p.files.join(', ') || 'none'})`,
    `  admins: ${p.admins.join(', ') || 'none'}`,
    `  groups: ${Object.keys(p.groups).join(', ') || 'none'}`,
    `  auto_approve: ${p.autoApprove.map((e) => e.id).join(', ') || 'none (every account waits for an administrator)'}`,
    `  topics: ${p.topics.map((t) => t.name).join(', ') || 'none'}`,
    `  ${n(p.rules.length, 'rule')} in order: ${p.rules.map((r) => `${r.id} (${r.effect})`).join(', ') || 'none'}`,
  ];
  if (p.rules.length === 0) lines.push('  warning: no rules, so every operation is denied');
  return lines;
}

function parseAttrs(s: string | undefined, what: string): Record<string, string> | undefined {
  if (!s) return undefined;
  const out: Record<string, string> = {};
  for (const part of s.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`${what}: expected KEY=VALUE pairs separated by commas, e.g. "O=Grid Dev CA,OU=soc"`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

interface ExplainOpts {
  jid: string; operation: Operation; topic: string; groups?: string; deviceType?: string;
  subject?: string; issuer?: string; dir?: string; json?: boolean;
}

async function subjectFor(o: ExplainOpts, deps: PolicyCommandDeps, configPath?: string): Promise<{ subject: PolicySubject; source: string }> {
  const known = deps.lookupSubject ? await deps.lookupSubject(o.jid, configPath) : undefined;
  const subject: PolicySubject = { jid: o.jid, groups: known?.groups ?? [], ...(known?.deviceType ? { deviceType: known.deviceType } : {}) };
  if (known?.cert) subject.cert = known.cert;
  if (o.groups !== undefined) subject.groups = o.groups.split(',').map((g) => g.trim()).filter(Boolean);
  if (o.deviceType) subject.deviceType = o.deviceType;
  const cs = parseAttrs(o.subject, '--subject');
  const ci = parseAttrs(o.issuer, '--issuer');
  if (cs || ci) subject.cert = { subject: cs ?? subject.cert?.subject ?? {}, issuer: ci ?? subject.cert?.issuer ?? {} };
  const source = known ? 'account found; options override it' : deps.lookupSubject ? 'no account found; judged from the options' : 'judged from the options';
  return { subject, source };
}

export function formatExplanation(x: Explanation, policy: Policy, subject: PolicySubject): string[] {
  const d = x.decision;
  const where = (id: string, file: string) => {
    const line = policy.rules.find((r) => r.id === id)?.line;
    return `${file}${line ? `:${line}` : ''}`;
  };
  const lines = [d.ruleId
    ? `${d.effect.toUpperCase()} by rule '${d.ruleId}' (${where(d.ruleId, d.file ?? '?')})`
    : `DENY: ${x.note ?? 'no rule matched: default deny'}`];
  if (d.matched.length > 0) lines.push(`  matched: ${d.matched.join('; ')}`);
  if (d.maxTlp || d.unmarked) lines.push(`  release: max_tlp ${d.maxTlp ?? 'none'}, unmarked ${d.unmarked ?? 'allow'}`);
  const cert = subject.cert ? `, subject ${JSON.stringify(subject.cert.subject)}, issuer ${JSON.stringify(subject.cert.issuer)}` : ', no certificate';
  lines.push(`subject: ${subject.jid}, groups [${subject.groups.join(', ')}], device type ${subject.deviceType ?? 'none'}${cert}`);
  if (x.trace.length > 0) lines.push('rules in order:');
  for (const t of x.trace) lines.push(`  ${t.result === 'matched' ? 'MATCHED' : 'skipped'} ${t.ruleId} (${where(t.ruleId, t.file)}): ${t.why}`);
  return lines;
}

export function registerPolicyCommand(program: Command, deps: PolicyCommandDeps = {}): void {
  const print = deps.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  const policy = program.command('policy').description('check policy files and explain decisions (PROTOCOL §12)');

  policy
    .command('check')
    .description('validate every *.yaml policy file of DIR, or staged FILEs together with the live folder (as the reload would see them once moved in); prints file:line: reason for every error; exit 0 valid, 1 errors, 2 usage')
    .argument('[DIR|FILE...]', "policy folder (default: the config file's policies, else policies/), or staged *.yaml files")
    .option('--dir <dir>', 'with staged files: the live policy folder (default: from the config file, else policies/)')
    .option('-c, --config <file>', 'configuration file whose policies: key names the folder')
    .action((paths: string[], o: { dir?: string }, cmd: Command) => {
      const t = checkTargets(paths, print);
      if (!t) return;
      if (t.dir && o.dir) return usage('--dir names the live folder for staged files; to check a folder, give it alone', print);
      const folder = policyDirFrom(t.dir ?? o.dir, configOf(cmd));
      if (t.staged.length) return checkStaged(folder, t.staged, print);
      const p = loadOrReport(folder, print);
      if (p) for (const l of summary(folder, p)) print(l);
    });

  policy
    .command('explain')
    .description('print the decision for one request, the rule that made it, and why each earlier rule did not match')
    .requiredOption('--jid <jid>', 'bare JID of the node')
    .addOption(new Option('--operation <op>', 'operation').choices([...OPERATIONS]).makeOptionMandatory())
    .requiredOption('--topic <topic>', 'topic name or subtopic node id')
    .option('--groups <a,b>', "account groups (default: the account's, if it can be looked up)")
    .option('--device-type <type>', 'device type the node declared')
    .option('--subject <attrs>', 'certificate subject, e.g. "O=Grid Dev CA,OU=soc"')
    .option('--issuer <attrs>', 'certificate issuer, e.g. "O=Grid Dev CA"')
    .option('--dir <dir>', 'policy folder (default: from the config file, else policies/)')
    .option('-c, --config <file>', 'configuration file')
    .option('--json', 'print the explanation as JSON')
    .action(async (o: ExplainOpts, cmd: Command) => {
      const configPath = configOf(cmd);
      const folder = policyDirFrom(o.dir, configPath);
      const p = loadOrReport(folder, print);
      if (!p) return;
      const { subject, source } = await subjectFor(o, deps, configPath);
      const x = explain(p, subject, o.operation, o.topic);
      if (o.json) {
        print(JSON.stringify({ ...x, subject }, null, 2));
        return;
      }
      for (const l of formatExplanation(x, p, subject)) print(l);
      print(`(${source}; policy from ${folder})`);
    });
}
