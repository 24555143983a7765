// Policy decision throughput with 1,000 rules (target ≥ 100,000 decisions/s, PROTOCOL §4's
// "every operation is decided"). Run: node dist/bench/policy.js [decisions]
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { decide, parsePolicyText, type Operation, type Policy, type PolicySubject } from '../src/policy/index.js';

const OPS: Operation[] = ['discover', 'create', 'publish', 'subscribe', 'query', 'bulk'];

/** 1,000 rules, mostly not matching the workload, with the globs real deployments write. */
export function buildBenchPolicyYaml(): string {
  const groups = Array.from({ length: 50 }, (_, i) => `  team-${i}: Team ${i}`);
  const rules: string[] = [];
  const rule = (fields: string) => rules.push(`  - { id: r${rules.length}, ${fields} }`);
  for (let i = 0; i < 600; i++) {
    const ops = [OPS[i % 6], OPS[(i + 2) % 6]].join(', ');
    rule(`effect: permit, operations: [${ops}], groups: [team-${i % 50}], topics: ["org-${i % 200}/feed-*/**", "org-${i % 200}/alerts"]`);
  }
  for (let i = 0; i < 200; i++) rule(`effect: deny, clients: ["*@partner-${i}.example"], topics: ["internal-${i}/**"]`);
  for (let i = 0; i < 100; i++) rule(`effect: permit, operations: [query], groups: [team-${i % 50}], topics: ["*/cases-${i}/**"]`);
  for (let i = 0; i < 95; i++) rule(`effect: permit, issuer: { O: "CA ${i}" }, subject: { OU: "unit-${i}" }, topics: ["**/unit-${i}"]`);
  // The rules the workload actually hits, at the very end: every decision walks past the rest.
  rule('effect: deny, clients: ["*@partner.example"], topics: ["internal/**"]');
  rule('effect: permit, operations: [discover, subscribe, query], groups: [soc], topics: ["threat-intel/**"]');
  rule('effect: permit, operations: [discover, subscribe, query], groups: [partners], topics: ["threat-intel/**"], max_tlp: green, unmarked: deny');
  rule('effect: permit, operations: [discover, publish, create], device_types: [sandbox, tip], topics: ["threat-intel/**"]');
  rule('effect: permit, operations: [publish], groups: [soc], topics: ["incidents/**"]');
  return `groups:\n  soc: S\n  partners: P\n${groups.join('\n')}\nrules:\n${rules.join('\n')}\n# end\n`;
}

function workload(): { subject: PolicySubject; op: Operation; topic: string }[] {
  const subjects: PolicySubject[] = [
    { jid: 'soc1@grid.test', groups: ['soc'] },
    { jid: 'p@partner.example', groups: ['partners'] },
    { jid: 'sb@grid.test', groups: ['providers'], deviceType: 'sandbox' },
    { jid: 'x@grid.test', groups: ['team-7', 'team-9'], cert: { subject: { OU: 'unit-3' }, issuer: { O: 'CA 4' } } },
  ];
  const topics = [
    'threat-intel/indicators', 'threat-intel/indicators~853495ea38be367e', 'threat-intel/attack-patterns',
    'incidents/iodef', 'internal/hr', 'org-17/feed-3/x', 'org-999/alerts', 'unknown/cases-7/a',
  ];
  const out: { subject: PolicySubject; op: Operation; topic: string }[] = [];
  for (const subject of subjects) for (const op of OPS) for (const topic of topics) out.push({ subject, op, topic });
  return out;
}

export function benchPolicy(n: number, policy?: Policy): { decisions_per_s: number; permits: number; rules: number } {
  let p = policy;
  if (!p) {
    const r = parsePolicyText(buildBenchPolicyYaml(), 'bench.yaml');
    if (!r.ok) throw new Error(`bench policy invalid: ${r.errors[0].message}`);
    p = r.policy;
  }
  const w = workload();
  for (let i = 0; i < 2000; i++) decide(p, w[i % w.length].subject, w[i % w.length].op, w[i % w.length].topic); // warm up the JIT
  let permits = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const q = w[i % w.length];
    if (decide(p, q.subject, q.op, q.topic).effect === 'permit') permits++;
  }
  const s = (performance.now() - t0) / 1000;
  return { decisions_per_s: Math.round(n / s), permits, rules: p.rules.length };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = Number(process.argv[2] ?? 1_000_000);
  const t0 = performance.now();
  const r = parsePolicyText(buildBenchPolicyYaml(), 'bench.yaml');
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}: ${e.message}`).join('\n'));
  const loadMs = performance.now() - t0;
  const res = benchPolicy(n, r.policy);
  console.log(`policy: ${res.rules} rules loaded in ${loadMs.toFixed(1)} ms; ${n} decisions, ${res.decisions_per_s} decisions/s (${res.permits} permits)`);
}
