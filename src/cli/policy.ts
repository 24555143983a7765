// `grid-controller policy check|explain` (PROTOCOL §11): validate policy files and show
// how a request would be decided, without a running controller.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import {
  OPERATIONS, explain, formatPolicyError, loadPolicyDir,
  type Explanation, type Operation, type Policy, type PolicySubject,
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
  const r = loadPolicyDir(dir);
  if (r.ok) return r.policy;
  for (const e of r.errors) print(formatPolicyError(e));
  print(`${r.errors.length} error${r.errors.length === 1 ? '' : 's'} in ${dir}: the policy would be rejected`);
  process.exitCode = 1;
  return null;
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
    .description('validate every *.yaml policy file of DIR; prints file:line: reason for each error and exits 1 on any')
    .argument('[DIR]', "policy folder (default: the config file's policies, else policies/)")
    .option('-c, --config <file>', 'configuration file whose policies: key names the folder')
    .action((dir: string | undefined, _o: unknown, cmd: Command) => {
      const folder = policyDirFrom(dir, configOf(cmd));
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
