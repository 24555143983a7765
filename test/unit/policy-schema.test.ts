import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decide, loadPolicyDir, parsePolicyText, type PolicyError } from '../../src/policy/index.js';

const root = mkdtempSync(join(tmpdir(), 'policy-schema-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function folder(files: Record<string, string>): string {
  const dir = join(root, `d${n++}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Every policy file ends with this line (see schema.ts endMarkerProblem). */
const END = '# end\n';

/** The errors of a whole file (the end line appended). */
function errorsOf(yaml: string): PolicyError[] {
  const r = parsePolicyText(yaml + END, 'p.yaml');
  assert.equal(r.ok, false, 'expected the policy to be rejected');
  return r.ok ? [] : r.errors;
}

const G = 'groups: { soc: S, partners: P }\n';

describe('each kind of error names its line and reason', () => {
  const cases: [string, string, number, RegExp][] = [
    ['YAML syntax', 'rules:\n  - id: a\n    effect: permit: x\n', 3, /YAML: Nested mappings/],
    ['duplicate YAML key', 'admins: []\nadmins: []\n', 2, /unique/i],
    ['unknown top-level key', 'admins: []\nrulez: []\n', 2, /unknown key 'rulez' in policy file/],
    ['unknown key in a rule', 'rules:\n  - id: a\n    effect: permit\n    topic: [x]\n', 4, /unknown key 'topic' in rule #1 .*topics/],
    ['unknown key in subject', 'rules:\n  - id: a\n    effect: permit\n    subject: { C: US }\n', 4, /unknown key 'C'/],
    ['unknown key in a topic', 'topics:\n  - name: a\n    content_type: application/iodef+xml\n    size: 3\n', 4, /unknown key 'size' in topic/],
    ['unknown key in auto_approve', 'registration:\n  auto_approve:\n    - id: a\n      issuer: { O: X }\n      groups: []\n      ou: soc\n', 6, /unknown key 'ou'/],
    ['effect not permit/deny', 'rules:\n  - id: a\n    effect: allow\n', 3, /effect 'allow' is not one of permit, deny/],
    ['effect of the wrong type', 'rules:\n  - id: a\n    effect: 3\n', 3, /effect must be a string \(it is a number\)/],
    ['missing effect', 'rules:\n  - id: a\n', 2, /no effect/],
    ['missing id', 'rules:\n  - effect: deny\n', 2, /rule #1 has no id/],
    ['operations not a list', 'rules:\n  - id: a\n    effect: permit\n    operations: publish\n', 4, /operations must be a list/],
    ['empty list', 'rules:\n  - id: a\n    effect: permit\n    operations: []\n', 4, /empty list, which matches nothing/],
    ['unknown operation', 'rules:\n  - id: a\n    effect: permit\n    operations: [discover, read]\n', 4, /unknown operation 'read'/],
    ['malformed topic glob', 'rules:\n  - id: a\n    effect: permit\n    topics: ["threat-intel/x**"]\n', 4, /'\*\*' must be a whole segment/],
    ['subtopic in glob', 'rules:\n  - id: a\n    effect: permit\n    topics: ["a~0123456789abcdef"]\n', 4, /judged by their parent/],
    ['malformed client glob', 'rules:\n  - id: a\n    effect: permit\n    clients: ["a@b/res"]\n', 4, /bare JIDs/],
    ['bad max_tlp', 'rules:\n  - id: a\n    effect: permit\n    max_tlp: amber-strict\n', 4, /max_tlp 'amber-strict' is not a TLP level/],
    ['max_tlp on deny', 'rules:\n  - id: a\n    effect: deny\n    max_tlp: green\n', 4, /only applies to permit rules/],
    ['bad unmarked', 'rules:\n  - id: a\n    effect: permit\n    unmarked: maybe\n', 4, /unmarked 'maybe'/],
    ['duplicate rule id in a file', 'rules:\n  - { id: a, effect: permit, clients: ["*"] }\n  - { id: a, effect: deny }\n', 3, /rule id 'a' is already defined at p.yaml:2/],
    ['undeclared group in a rule', G + 'rules:\n  - id: a\n    effect: permit\n    groups: [soc, admins]\n', 5, /group 'admins' is not declared under groups \(declared: soc, partners\)/],
    ['undeclared group in auto_approve', G + 'registration:\n  auto_approve:\n    - id: a\n      issuer: { O: X }\n      groups: [ops]\n', 6, /group 'ops' is not declared/],
    ['auto_approve without issuer', G + 'registration:\n  auto_approve:\n    - id: a\n      groups: [soc]\n', 4, /has no issuer/],
    ['bad topic name (upper case)', 'topics:\n  - name: Threat/x\n    content_type: application/iodef+xml\n', 2, /segments of \[a-z0-9\]/],
    ['bad topic name (~)', 'topics:\n  - name: a~b\n    content_type: application/iodef+xml\n', 2, /'~' is never part/],
    ['bad topic name (too long)', `topics:\n  - name: ${'a'.repeat(129)}\n    content_type: application/iodef+xml\n`, 2, /at most 128/],
    ['duplicate topic', 'topics:\n  - { name: a, content_type: application/iodef+xml }\n  - { name: a, content_type: application/iodef+xml }\n', 3, /topic 'a' is already defined/],
    ['content type outside the table', 'topics:\n  - name: a\n    content_type: application/json\n', 3, /content_type 'application\/json' is not one of/],
    ['application/xml without namespace', 'topics:\n  - name: a\n    content_type: application/xml\n', 2, /needs payload_namespace/],
    ['payload_namespace elsewhere', 'topics:\n  - name: a\n    content_type: application/iodef+xml\n    payload_namespace: urn:x\n', 4, /only applies to content_type application\/xml/],
    ['max_items not an integer', 'topics:\n  - name: a\n    content_type: application/iodef+xml\n    max_items: lots\n', 4, /max_items must be an integer/],
    ['item_expire negative', 'topics:\n  - name: a\n    content_type: application/iodef+xml\n    item_expire: -5\n', 4, /item_expire must be between 0 and 315360000, not -5/],
    ['filter field shadows a built-in', 'topics:\n  - name: a\n    content_type: application/stix+json;version=2.1\n    filter_fields: { tlp: x_tlp }\n', 4, /'tlp' is built in/],
    ['filter field on IODEF', 'topics:\n  - name: a\n    content_type: application/iodef+xml\n    filter_fields: { loc: x }\n', 4, /only to application\/stix\+json/],
    ['admin not a bare JID', 'admins: [admin@grid.test/console]\n', 1, /not a bare JID/],
    ['alias', 'groups: { soc: &s S }\nadmins: [*s]\n', 2, /aliases are not supported/],
    ['group name', 'groups: { SOC: x }\n', 1, /group name 'SOC'/],
    ['permit naming nobody', 'rules:\n  - id: a\n    effect: permit\n    topics: [x]\n', 2, /rule 'a' permits without naming whom: give groups, clients, device_types, subject or issuer \(for every account: clients: \["\*"\]\)/],
    ['end line before the end', 'admins: []\n# end\nrules: []\n', 2, /'# end' occurs before the end of the file \(also at line 4\)/],
  ];
  for (const [name, yaml, line, re] of cases) {
    test(name, () => {
      const errors = errorsOf(yaml);
      const hit = errors.find((e) => re.test(e.message));
      assert.ok(hit, `no error matching ${re}; got ${JSON.stringify(errors)}`);
      assert.equal(hit.file, 'p.yaml');
      assert.equal(hit.line, line, JSON.stringify(hit));
    });
  }
  test('all errors of a file are reported in one go, sorted by line', () => {
    const errors = errorsOf('rules:\n  - id: a\n    effect: allow\n  - id: b\n    effect: permit\n    operations: [x]\n    clients: ["*"]\n');
    assert.deepEqual(errors.map((e) => e.line), [3, 6]);
  });
});

describe('whom a permit names, and the end line', () => {
  test('a permit for everyone says clients: ["*"]; a deny may name nobody', () => {
    const r = parsePolicyText('rules:\n  - { id: no-x, effect: deny, topics: [x] }\n  - { id: all, effect: permit, clients: ["*"], topics: [y] }\n' + END);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    assert.equal(decide(r.policy, { jid: 'anyone@else.example', groups: [] }, 'query', 'y').ruleId, 'all');
    assert.equal(decide(r.policy, { jid: 'anyone@else.example', groups: [] }, 'query', 'x').ruleId, 'no-x');
  });
  for (const [name, text, line] of [
    ['empty file', '', 1],
    ['no end line', 'admins: []\n', 1],
    ['end line without its newline', 'admins: []\n# end', 2],
    ['end line with trailing text', 'admins: []\n# end.\n', 2],
    ['text after the end line', 'admins: []\n# end\n\n', 3],
  ] as const) {
    test(`${name}: rejected, naming the last line`, () => {
      const r = parsePolicyText(text, 'p.yaml');
      assert.ok(!r.ok);
      assert.deepEqual(r.errors.map((e) => [e.line, /does not end with the line '# end'/.test(e.message)]), [[line, true]]);
    });
  }
  test('CRLF line ends and a file of only its end line are whole files', () => {
    assert.ok(parsePolicyText('admins: [a@grid.test]\r\n# end\r\n').ok);
    assert.ok(parsePolicyText(END).ok);
  });
});

describe('folders', () => {
  test('files merge in file-name order; a group declared twice is fine', () => {
    const dir = folder({
      '20-rules.yaml': 'rules:\n  - { id: b, effect: deny, groups: [soc] }\n' + END,
      '10-rules.yaml': 'groups: { soc: Security }\nrules:\n  - { id: a, effect: permit, groups: [soc] }\n' + END,
      '00-groups.yaml': 'admins: [a@grid.test]\ngroups: { soc: SOC team, partners: P }\n' + END,
      'README.md': 'not read',
      '.hidden.yaml': 'not: valid: yaml: [',
    });
    const r = loadPolicyDir(dir);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    assert.deepEqual(r.policy.files, ['00-groups.yaml', '10-rules.yaml', '20-rules.yaml']);
    assert.deepEqual(r.policy.rules.map((x) => [x.id, x.file, x.line]), [['a', '10-rules.yaml', 3], ['b', '20-rules.yaml', 2]]);
    assert.equal(r.policy.groups.soc, 'SOC team');
    assert.equal(decide(r.policy, { jid: 'n@grid.test', groups: ['soc'] }, 'query', 'x').ruleId, 'a');
    assert.ok(Object.isFrozen(r.policy.rules), 'a loaded policy is immutable');
  });
  test('the same rule id in two files is an error naming both places', () => {
    const dir = folder({ 'a.yaml': 'rules:\n  - { id: r, effect: permit, clients: ["*"] }\n' + END, 'b.yaml': '\nrules:\n  - { id: r, effect: deny }\n' + END });
    const r = loadPolicyDir(dir);
    assert.ok(!r.ok);
    assert.deepEqual(r.errors, [{ file: join(dir, 'b.yaml'), line: 3, message: "rule id 'r' is already defined at a.yaml:2" }]);
  });
  test('one bad file rejects the whole folder, with errors naming that file', () => {
    const dir = folder({ 'a.yaml': 'rules:\n  - { id: r, effect: permit, clients: ["*"] }\n' + END, 'b.yaml': 'rules: [\n' });
    const r = loadPolicyDir(dir);
    assert.ok(!r.ok);
    assert.ok(r.errors.every((e) => e.file === join(dir, 'b.yaml')), JSON.stringify(r.errors));
  });
  test('a broken groups file does not cause misleading "not declared" errors elsewhere', () => {
    const dir = folder({ '00.yaml': 'groups: { soc: S\n' + END, '10.yaml': 'rules:\n  - { id: r, effect: permit, groups: [soc] }\n' + END });
    const r = loadPolicyDir(dir);
    assert.ok(!r.ok);
    assert.ok(r.errors.every((e) => e.file.endsWith('00.yaml')), JSON.stringify(r.errors));
  });
  test('a .yml file is an error rather than silently ignored', () => {
    const r = loadPolicyDir(folder({ 'rules.yml': 'rules: []\n' + END }));
    assert.ok(!r.ok);
    assert.match(r.errors[0].message, /rename it to \.yaml/);
  });
  test('an empty folder is valid and denies everything; a file with only its end line too', () => {
    for (const files of [{}, { 'a.yaml': END }, { 'a.yaml': '# only a comment\n' + END }] as Record<string, string>[]) {
      const r = loadPolicyDir(folder(files));
      assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
      assert.equal(decide(r.policy, { jid: 'a@grid.test', groups: [] }, 'discover', 'a').effect, 'deny');
    }
  });
  test('a missing folder is an error', () => {
    const r = loadPolicyDir(join(root, 'nope'));
    assert.ok(!r.ok);
    assert.deepEqual(r.errors, [{ file: join(root, 'nope'), message: 'policy folder does not exist' }]);
  });
  test('topic defaults', () => {
    const r = parsePolicyText('topics:\n  - { name: a/b, content_type: "application/stix+json;version=2.1" }\n' + END);
    assert.ok(r.ok);
    const t = r.policy.topics[0];
    assert.deepEqual([t.filtering, t.maxItems, t.filterFields, t.notificationType], ['controller', 1000, {}, undefined]);
  });
});

describe('the shipped policies/ folder', () => {
  const r = loadPolicyDir('policies');
  test('validates, in several files', () => {
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    assert.ok(r.policy.files.length >= 2);
    assert.deepEqual(r.policy.admins, ['admin@grid.test']);
    assert.deepEqual(Object.keys(r.policy.groups), ['soc', 'partners', 'providers']);
    const ind = r.policy.topics.find((t) => t.name === 'threat-intel/indicators');
    assert.deepEqual(ind?.filterFields, { location: 'x_location' });
    assert.deepEqual(r.policy.topics.map((t) => t.contentType).sort(),
      ['application/iodef+xml', 'application/stix+json;version=2.1', 'application/stix+json;version=2.1']);
  });
  const cases: [string, string[], string | undefined, 'discover' | 'subscribe' | 'publish' | 'query', string, string | null, 'permit' | 'deny'][] = [
    ['soc@grid.test', ['soc'], undefined, 'subscribe', 'threat-intel/indicators', 'soc-consume', 'permit'],
    ['p@partner.example', ['partners'], undefined, 'query', 'threat-intel/attack-patterns', 'partners-consume', 'permit'],
    ['p@partner.example', ['partners'], undefined, 'discover', 'internal/hr', 'no-partners-on-internal', 'deny'],
    ['p@partner.example', ['partners'], undefined, 'publish', 'threat-intel/indicators', null, 'deny'],
    ['sb@grid.test', ['providers'], 'sandbox', 'publish', 'threat-intel/indicators~0123456789abcdef', 'providers-publish', 'permit'],
    ['sb@grid.test', [], 'sandbox', 'publish', 'threat-intel/indicators', null, 'deny'],
    ['x@grid.test', [], undefined, 'discover', 'incidents/iodef', null, 'deny'],
  ];
  for (const [jid, groups, deviceType, op, topic, rule, effect] of cases) {
    test(`${jid} [${groups}] ${op} ${topic} → ${effect} (${rule})`, () => {
      assert.ok(r.ok);
      const d = decide(r.policy, { jid, groups, ...(deviceType ? { deviceType } : {}) }, op, topic);
      assert.deepEqual([d.ruleId, d.effect], [rule, effect]);
    });
  }
});
