import { test, describe, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerPolicyCommand, policyDirFrom, type PolicyCommandDeps } from '../../src/cli/policy.js';

const root = mkdtempSync(join(tmpdir(), 'policy-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => { process.exitCode = undefined; });

async function run(args: string[], deps: PolicyCommandDeps = {}): Promise<{ lines: string[]; exitCode: number }> {
  const lines: string[] = [];
  const program = new Command('grid-controller').exitOverride().configureOutput({ writeOut: (s) => lines.push(s), writeErr: (s) => lines.push(s) });
  registerPolicyCommand(program, { print: (l) => lines.push(l), ...deps });
  await program.parseAsync(args, { from: 'user' });
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { lines, exitCode };
}

const bad = join(root, 'bad');
mkdirSync(bad);
writeFileSync(join(bad, '10.yaml'), 'groups: { soc: S }\nrules:\n  - id: a\n    effect: permit\n    groups: [ops]\n    operations: [read]\n# end\n');

describe('policy check', () => {
  test('prints a summary of the shipped folder and exits 0', async () => {
    const { lines, exitCode } = await run(['policy', 'check', 'policies']);
    assert.equal(exitCode, 0);
    assert.match(lines[0], /^policies: OK, 3 files/);
    assert.ok(lines.some((l) => /rules in order: no-partners-on-internal \(deny\), soc-consume/.test(l)), lines.join('\n'));
  });
  test('prints each error as file:line: reason and exits 1', async () => {
    const { lines, exitCode } = await run(['policy', 'check', bad]);
    assert.equal(exitCode, 1);
    assert.deepEqual(lines.slice(0, 2), [
      `${join(bad, '10.yaml')}:5: rule 'a': group 'ops' is not declared under groups (declared: soc)`,
      `${join(bad, '10.yaml')}:6: rule 'a': operations: unknown operation 'read' (known: discover, create, publish, subscribe, query, bulk)`,
    ]);
    assert.match(lines[2], /^2 errors/);
  });
  test('reports a file without its end line and a permit that names nobody, with file:line', async () => {
    const dir = join(root, 'cut');
    mkdirSync(dir);
    writeFileSync(join(dir, '10.yaml'), 'rules:\n  - id: everyone\n    effect: permit\n    topics: ["a/**"]\n');
    const { lines, exitCode } = await run(['policy', 'check', dir]);
    assert.equal(exitCode, 1);
    assert.deepEqual(lines.slice(0, 2), [
      `${join(dir, '10.yaml')}:2: rule 'everyone' permits without naming whom: give groups, clients, device_types, subject or issuer (for every account: clients: ["*"])`,
      `${join(dir, '10.yaml')}:4: the file does not end with the line '# end': it may be half-written, so it is not applied (end every policy file with '# end' and a newline)`,
    ]);
  });
  test('without DIR, the folder comes from --config, relative to the config file', async () => {
    const cfgDir = join(root, 'cfg');
    mkdirSync(join(cfgDir, 'pol'), { recursive: true });
    writeFileSync(join(cfgDir, 'pol', 'a.yaml'), 'rules:\n  - { id: only, effect: deny }\n# end\n');
    writeFileSync(join(cfgDir, 'grid.yaml'), 'xmpp: { domain: controller.grid.test }\npolicies: pol\n');
    const { lines, exitCode } = await run(['policy', 'check', '--config', join(cfgDir, 'grid.yaml')]);
    assert.equal(exitCode, 0);
    assert.match(lines.join('\n'), /1 rule in order: only \(deny\)/);
    assert.equal(policyDirFrom(undefined, undefined, {}), 'policies/');
    assert.equal(policyDirFrom('x', join(cfgDir, 'grid.yaml'), {}), 'x');
  });
});

describe('policy check: every error in one pass, staged files with the live folder (issue 11)', () => {
  const live = join(root, 'live');
  mkdirSync(live);
  writeFileSync(join(live, '00-groups.yaml'), 'groups: { soc: S }\n# end\n');
  writeFileSync(join(live, '20-rules.yaml'), 'rules:\n  - id: soc-read\n    effect: permit\n    groups: [soc]\n    operations: [subscribe]\n    topics: ["a/**"]\n# end\n');

  test('a YAML error does not hide the other files\' errors: duplicate ids (also of a rule with errors) and undeclared groups', async () => {
    const dir = join(root, 'many');
    mkdirSync(dir);
    writeFileSync(join(dir, '00-groups.yaml'), 'groups: { soc: S }\n# end\n');
    writeFileSync(join(dir, '10-broken.yaml'), 'rules:\n  - id: x\n    groups: [soc\n    effect: deny\n# end\n');
    writeFileSync(join(dir, '20-rules.yaml'), 'rules:\n  - id: soc-read\n    effect: permit\n    groups: [soc]\n    operations: [subscribe]\n' +
      '  - id: soc-read\n    effect: permit\n    groups: [ops]\n    operations: [fly]\n# end\n');
    const { lines, exitCode } = await run(['policy', 'check', dir]);
    assert.equal(exitCode, 1);
    const f = (n: string) => join(dir, n);
    assert.equal(lines.length, 5, lines.join('\n'));
    assert.match(lines[0]!, new RegExp(`^${f('10-broken.yaml')}:\\d+: YAML: .*\\(the rest of this file is checked once its YAML parses\\)$`));
    assert.deepEqual(lines.slice(1), [
      `${f('20-rules.yaml')}:6: rule id 'soc-read' is already defined at 20-rules.yaml:2`,
      `${f('20-rules.yaml')}:8: rule 'soc-read': group 'ops' is not declared under groups (declared: soc)`,
      `${f('20-rules.yaml')}:9: rule 'soc-read': operations: unknown operation 'fly' (known: discover, create, publish, subscribe, query, bulk)`,
      `4 errors in ${dir}: the policy would be rejected`,
    ]);
  });

  test('staged files are checked as the reload would see them moved in: a replacement that validates → exit 0', async () => {
    const staged = join(root, 'staged-ok');
    mkdirSync(staged);
    writeFileSync(join(staged, '20-rules.yaml'), 'rules:\n  - id: soc-deny\n    effect: deny\n    groups: [soc]\n# end\n');
    writeFileSync(join(staged, '30-more.yaml'), 'rules:\n  - id: extra\n    effect: deny\n    clients: ["*"]\n# end\n');
    const { lines, exitCode } = await run(['policy', 'check', '--dir', live, join(staged, '20-rules.yaml'), join(staged, '30-more.yaml')]);
    assert.equal(exitCode, 0, lines.join('\n'));
    assert.equal(lines[0], `${live} with ${join(staged, '20-rules.yaml')}, ${join(staged, '30-more.yaml')} moved in: OK, 3 files (00-groups.yaml, 20-rules.yaml, 30-more.yaml)`);
    assert.equal(lines[1], `  staged: 20-rules.yaml replaces ${join(live, '20-rules.yaml')}; 30-more.yaml is new`);
    assert.ok(lines.includes('  2 rules in order: soc-deny (deny), extra (deny)'), lines.join('\n'));
  });

  test('a staged file that clashes with the live folder: its errors name the staged path, exit 1; the live folder alone is fine', async () => {
    const staged = join(root, 'staged-bad');
    mkdirSync(staged);
    writeFileSync(join(staged, '30-new.yaml'), 'rules:\n  - id: soc-read\n    effect: permit\n    groups: [ops]\n    topics: ["b/**"]\n# end\n');
    writeFileSync(join(staged, 'notes.yml'), 'rules: []\n# end\n');
    const { lines, exitCode } = await run(['policy', 'check', '--dir', live, join(staged, '30-new.yaml'), join(staged, 'notes.yml')]);
    assert.equal(exitCode, 1);
    assert.deepEqual(lines, [
      `${join(staged, '30-new.yaml')}:2: rule id 'soc-read' is already defined at 20-rules.yaml:2`,
      `${join(staged, '30-new.yaml')}:4: rule 'soc-read': group 'ops' is not declared under groups (declared: soc)`,
      `${join(staged, 'notes.yml')}: a policy file is named *.yaml (and not hidden): the reload would not read it under this name`,
      `3 errors with 30-new.yaml, notes.yml moved into ${live}: the reload would reject the change and keep the live policy`,
    ]);
    assert.equal((await run(['policy', 'check', live])).exitCode, 0);
  });

  test('usage mistakes exit 2 and judge nothing: a missing file, a folder with files, --dir with a folder', async () => {
    const missing = await run(['policy', 'check', '--dir', live, join(root, 'nope.yaml')]);
    assert.deepEqual([missing.exitCode, missing.lines], [2, [`grid-controller policy check: ${join(root, 'nope.yaml')}: no such file or folder`]]);
    const both = await run(['policy', 'check', live, join(live, '20-rules.yaml')]);
    assert.equal(both.exitCode, 2);
    assert.match(both.lines[0]!, /give one policy folder, or staged files/);
    const dirTwice = await run(['policy', 'check', '--dir', live, live]);
    assert.equal(dirTwice.exitCode, 2);
  });
});

describe('policy explain', () => {
  test('prints the decision, the deciding rule with file and line, and why earlier rules were skipped', async () => {
    const { lines } = await run(['policy', 'explain', '--dir', 'policies', '--jid', 'p@partner.example',
      '--operation', 'subscribe', '--topic', 'threat-intel/indicators', '--groups', 'partners']);
    const out = lines.join('\n');
    assert.match(lines[0], /^PERMIT by rule 'partners-consume' \(20-rules\.yaml:\d+\)$/);
    assert.match(out, /release: max_tlp green, unmarked deny/);
    assert.match(out, /skipped no-partners-on-internal \(20-rules\.yaml:\d+\): topics: threat-intel\/indicators matches none of \[internal\/\*\*\]/);
    assert.match(out, /skipped soc-consume .*groups: none of \[soc\] in account groups \[partners\]/);
  });
  test('default deny is stated', async () => {
    const { lines } = await run(['policy', 'explain', '--dir', 'policies', '--jid', 'x@grid.test', '--operation', 'bulk', '--topic', 'incidents/iodef']);
    assert.equal(lines[0], 'DENY: no rule matched: default deny');
  });
  test("uses the account's groups from lookupSubject unless --groups is given", async () => {
    const asked: string[] = [];
    const deps: PolicyCommandDeps = {
      lookupSubject: async (jid) => { asked.push(jid); return { jid, groups: ['soc'], deviceType: 'siem' }; },
    };
    const a = await run(['policy', 'explain', '--dir', 'policies', '--jid', 's@grid.test', '--operation', 'query', '--topic', 'incidents/iodef'], deps);
    assert.match(a.lines[0], /PERMIT by rule 'soc-consume'/);
    const b = await run(['policy', 'explain', '--dir', 'policies', '--jid', 's@grid.test', '--operation', 'query', '--topic', 'incidents/iodef', '--groups', ''], deps);
    assert.match(b.lines[0], /^DENY/);
    assert.deepEqual(asked, ['s@grid.test', 's@grid.test']);
  });
  test('--json gives the explanation as data', async () => {
    const { lines } = await run(['policy', 'explain', '--dir', 'policies', '--jid', 'sb@grid.test', '--operation', 'publish',
      '--topic', 'threat-intel/indicators', '--groups', 'providers', '--device-type', 'sandbox', '--json']);
    const x = JSON.parse(lines.join('\n'));
    assert.equal(x.decision.ruleId, 'providers-publish');
    assert.equal(x.trace.at(-1).result, 'matched');
  });
  test('an unknown operation is refused by the option parser', async () => {
    await assert.rejects(run(['policy', 'explain', '--jid', 'a@b', '--operation', 'read', '--topic', 'x']), /invalid|Allowed choices/i);
  });
  test('an invalid policy folder prints its errors and exits 1', async () => {
    const { lines, exitCode } = await run(['policy', 'explain', '--dir', bad, '--jid', 'a@b', '--operation', 'query', '--topic', 'x']);
    assert.equal(exitCode, 1);
    assert.match(lines[0], /10\.yaml:5:/);
  });
});
