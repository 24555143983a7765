import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileClientGlob, compileTopicGlob, topicOfNode } from '../../src/policy/glob.js';
import { decide, explain, isAdmin, parsePolicyText, type Operation, type Policy, type PolicySubject } from '../../src/policy/index.js';
import { ruleMatches } from '../../src/policy/match.js';

/** A whole policy file: the end line (schema.ts endMarkerProblem) appended. */
function policy(yaml: string): Policy {
  const r = parsePolicyText(yaml + '# end\n');
  if (!r.ok) assert.fail(r.errors.map((e) => `${e.line}: ${e.message}`).join('\n'));
  return r.policy;
}

const GROUPS = 'groups: { soc: S, partners: P, providers: T }\n';

describe('topic globs', () => {
  const cases: [string, string, boolean][] = [
    ['threat-intel/*', 'threat-intel/indicators', true],
    ['threat-intel/*', 'threat-intel/a/b', false], // * stays within one segment
    ['threat-intel/*', 'threat-intel', false],
    ['threat-intel/**', 'threat-intel/x/y', true],
    ['threat-intel/**', 'threat-intel/x', true],
    ['threat-intel/**', 'threat-intel', true], // ** matches zero segments too (documented choice)
    ['threat-intel/**', 'threat-intelx', false],
    ['threat-intel/**', 'threat-intel2/x', false],
    ['**', 'a', true],
    ['**', 'a/b/c', true],
    ['**/iodef', 'iodef', true],
    ['**/iodef', 'incidents/iodef', true],
    ['**/iodef', 'incidents/x/iodef', true],
    ['**/iodef', 'incidents/iodefs', false],
    ['a/**/z', 'a/z', true],
    ['a/**/z', 'a/b/c/z', true],
    ['a/**/z', 'a/b/c', false],
    ['threat-*/indicators', 'threat-intel/indicators', true],
    ['threat-*/indicators', 'threat-/indicators', true],
    ['threat-*/indicators', 'threat/indicators', false],
    ['*', 'incidents', true],
    ['*', 'incidents/iodef', false],
    ['a.b/c', 'a.b/c', true],
    ['a.b/c', 'axb/c', false], // '.' is literal
    ['incidents/iodef', 'incidents/iodef', true],
    ['incidents/iodef', 'incidents/iodef/x', false],
  ];
  for (const [glob, topic, want] of cases) {
    test(`${glob} ${want ? 'matches' : 'does not match'} ${topic}`, () => {
      const g = compileTopicGlob(glob);
      assert.ok(typeof g !== 'string', String(g));
      assert.equal(g.re.test(topic), want);
    });
  }
  const malformed = ['', 'a//b', '/a', 'a/', 'a**', 'a/**/**/b', 'A/b', 'a/b~0123', 'a b', '.a', 'a/é'];
  for (const glob of malformed) {
    test(`'${glob}' is malformed`, () => assert.equal(typeof compileTopicGlob(glob), 'string'));
  }
});

describe('client globs', () => {
  const cases: [string, string, boolean][] = [
    ['*@partner.example', 'alice@partner.example', true],
    ['*@partner.example', 'alice@evil.example', false],
    ['*@partner.example', 'a@b@partner.example', false], // * never crosses @
    ['*@partner.example', 'ALICE@Partner.Example', true], // JIDs compare case-insensitively
    ['*', 'alice@grid.test', true], // `*` alone is every client: how a permit rule says "everyone"
    ['*', 'grid.test', true],
    ['*', 'a@b/res', false],
    ['node*@grid.test', 'node1@grid.test', true],
    ['node*@grid.test', 'node1@grid.test.evil', false],
    ['*@*.grid.test', 'a@x.grid.test', true],
    ['*@*.grid.test', 'a@x.y.grid.test', true], // * crosses dots, only @ and / are barriers
    ['alice@*', 'alice@a/b', false], // * never crosses /
  ];
  for (const [glob, jid, want] of cases) {
    test(`${glob} ${want ? 'matches' : 'does not match'} ${jid}`, () => {
      const g = compileClientGlob(glob);
      assert.ok(typeof g !== 'string', String(g));
      assert.equal(g.re.test(jid.toLowerCase()), want);
    });
  }
  for (const glob of ['', 'a@b/res', 'a@b@c', '@x', 'a b@c']) {
    test(`client glob '${glob}' is malformed`, () => assert.equal(typeof compileClientGlob(glob), 'string'));
  }
});

test('subtopic node ids resolve to their parent topic', () => {
  assert.equal(topicOfNode('threat-intel/indicators~853495ea38be367e'), 'threat-intel/indicators');
  assert.equal(topicOfNode('threat-intel/indicators'), 'threat-intel/indicators');
  assert.equal(topicOfNode('threat-intel/indicators~853495EA38BE367E'), null);
  assert.equal(topicOfNode('threat-intel/indicators~85'), null);
  assert.equal(topicOfNode('Threat'), null);
  assert.equal(topicOfNode('a'.repeat(129)), null);
});

describe('decide: each condition', () => {
  const p = policy(GROUPS + `
rules:
  - { id: by-op, effect: permit, operations: [bulk], clients: ["*"] }
  - { id: by-group, effect: permit, groups: [soc, partners], topics: [g/**] }
  - { id: by-topic, effect: permit, topics: ["t/*"], clients: ["*"] }
  - { id: by-client, effect: permit, clients: ["*@c.example"], topics: [c/**] }
  - { id: by-device, effect: permit, device_types: [sandbox, tip], topics: [d/**] }
  - { id: by-subject, effect: permit, subject: { OU: soc, O: Acme }, topics: [s/**] }
  - { id: by-issuer, effect: permit, issuer: { O: Grid Dev CA }, topics: [i/**] }
`);
  const cert = { subject: { O: 'Acme', OU: 'soc', CN: 'n1' }, issuer: { O: 'Grid Dev CA' } };
  const base: PolicySubject = { jid: 'n1@grid.test', groups: [] };
  const cases: [string, PolicySubject, Operation, string, string | null][] = [
    ['operation listed', base, 'bulk', 'x', 'by-op'],
    ['operation not listed', base, 'query', 'x', null],
    ['any listed group', { ...base, groups: ['partners'] }, 'query', 'g/1', 'by-group'],
    ['no listed group', { ...base, groups: ['providers'] }, 'query', 'g/1', null],
    ['topic * one segment', base, 'query', 't/a', 'by-topic'],
    ['topic * not two segments', base, 'query', 't/a/b', null],
    ['client glob', { ...base, jid: 'x@c.example' }, 'query', 'c/1', 'by-client'],
    ['client glob with resource given', { ...base, jid: 'x@c.example/laptop' }, 'query', 'c/1', 'by-client'],
    ['client glob other domain', { ...base, jid: 'x@c.example.org' }, 'query', 'c/1', null],
    ['device type listed', { ...base, deviceType: 'tip' }, 'query', 'd/1', 'by-device'],
    ['device type not listed', { ...base, deviceType: 'siem' }, 'query', 'd/1', null],
    ['device type none', base, 'query', 'd/1', null],
    ['subject attrs exact', { ...base, cert }, 'query', 's/1', 'by-subject'],
    ['subject attr differs', { ...base, cert: { ...cert, subject: { O: 'Acme', OU: 'SOC' } } }, 'query', 's/1', null],
    ['subject without cert', base, 'query', 's/1', null],
    ['issuer exact', { ...base, cert }, 'query', 'i/1', 'by-issuer'],
    ['issuer differs', { ...base, cert: { ...cert, issuer: { O: 'Other CA' } } }, 'query', 'i/1', null],
    ['subtopic judged by parent', base, 'query', 't/a~0123456789abcdef', 'by-topic'],
    ['malformed subtopic', base, 'query', 't/a~xyz', null],
    ['bad topic name', base, 'bulk', 'T/A', null],
    ['unknown operation', base, 'frob' as Operation, 'x', null],
    ['subject without groups', { jid: 'a@b' } as PolicySubject, 'bulk', 'x', null],
  ];
  for (const [name, subject, op, topic, want] of cases) {
    test(name, () => {
      const d = decide(p, subject, op, topic);
      assert.equal(d.ruleId, want);
      assert.equal(d.effect, want ? 'permit' : 'deny');
    });
  }
});

describe('decide: order, default deny, release caps', () => {
  const p = policy(GROUPS + `
rules:
  - { id: deny-partner-internal, effect: deny, clients: ["*@partner.example"], topics: ["internal/**"] }
  - { id: all-internal, effect: permit, topics: ["internal/**"], clients: ["*"] }
  - id: partners
    effect: permit
    operations: [subscribe, query]
    groups: [partners]
    topics: ["threat-intel/**"]
    max_tlp: white
    unmarked: deny
  - { id: later, effect: deny, groups: [partners] }
`);
  test('first matching rule decides, even a deny before a permit', () => {
    const d = decide(p, { jid: 'a@partner.example', groups: [] }, 'query', 'internal/x');
    assert.deepEqual([d.effect, d.ruleId, d.file], ['deny', 'deny-partner-internal', 'policy.yaml']);
    assert.deepEqual(d.matched, ['topics: internal/**', 'clients: *@partner.example']);
    assert.equal(decide(p, { jid: 'a@grid.test', groups: [] }, 'query', 'internal/x').ruleId, 'all-internal');
  });
  test('no match is deny with ruleId null', () => {
    const d = decide(p, { jid: 'a@grid.test', groups: ['soc'] }, 'query', 'threat-intel/x');
    assert.deepEqual(d, { effect: 'deny', ruleId: null, matched: [] });
  });
  test('max_tlp and unmarked are carried by a permit (white normalised to clear)', () => {
    const d = decide(p, { jid: 'a@grid.test', groups: ['partners'] }, 'subscribe', 'threat-intel/x~0123456789abcdef');
    assert.equal(d.ruleId, 'partners');
    assert.equal(d.maxTlp, 'clear');
    assert.equal(d.unmarked, 'deny');
    assert.deepEqual(d.matched, ['operations: subscribe', 'groups: partners', 'topics: threat-intel/**']);
  });
  test('a later rule is reached when the earlier ones do not match', () => {
    assert.equal(decide(p, { jid: 'a@grid.test', groups: ['partners'] }, 'publish', 'threat-intel/x').ruleId, 'later');
  });
  test('odd group names cannot make two accounts share the rule index entry', () => {
    const q = policy(GROUPS + 'rules:\n  - { id: soc-deny, effect: deny, groups: [soc] }\n  - { id: rest, effect: permit, clients: ["*"] }\n');
    assert.equal(decide(q, { jid: 'a@grid.test', groups: ['soc\u0000x', '1:y'] }, 'query', 'a').ruleId, 'rest');
    assert.equal(decide(q, { jid: 'a@grid.test', groups: ['soc', 'x1:y'] }, 'query', 'a').ruleId, 'soc-deny');
    assert.equal(decide(q, { jid: 'a@grid.test', groups: ['soc', 'x'] }, 'query', 'a').ruleId, 'soc-deny');
  });
  test('admins are compared as bare lower-case JIDs', () => {
    const q = policy('admins: [Admin@Grid.test]\n');
    assert.equal(isAdmin(q, 'admin@grid.test/console'), true);
    assert.equal(isAdmin(q, 'other@grid.test'), false);
  });
});

describe('explain', () => {
  const p = policy(GROUPS + `
rules:
  - { id: r1, effect: permit, operations: [discover, subscribe], groups: [soc] }
  - { id: r2, effect: deny, clients: ["*@partner.example"], topics: ["internal/**"] }
  - { id: r3, effect: permit, operations: [publish], device_types: [sandbox] }
  - { id: r4, effect: deny }
`);
  test('traces each skipped rule with every failed condition, then the matching one', () => {
    const x = explain(p, { jid: 'n@grid.test', groups: ['partners'], deviceType: 'siem' }, 'publish', 'threat-intel/x');
    assert.equal(x.decision.ruleId, 'r4');
    assert.deepEqual(x.trace.map((t) => [t.ruleId, t.result]), [['r1', 'skipped'], ['r2', 'skipped'], ['r3', 'skipped'], ['r4', 'matched']]);
    assert.equal(x.trace[0].why, 'operations: publish not in [discover, subscribe]; groups: none of [soc] in account groups [partners]');
    assert.equal(x.trace[1].why, 'topics: threat-intel/x matches none of [internal/**]; clients: n@grid.test matches none of [*@partner.example]');
    assert.equal(x.trace[2].why, 'device_types: siem not in [sandbox]');
    assert.match(x.trace[3].why, /no conditions/);
  });
  test('no match: full trace and default deny note', () => {
    const q = policy(GROUPS + 'rules:\n  - { id: only, effect: permit, groups: [soc] }\n');
    const x = explain(q, { jid: 'n@grid.test', groups: [] }, 'query', 'a');
    assert.equal(x.decision.effect, 'deny');
    assert.equal(x.decision.ruleId, null);
    assert.equal(x.trace.length, 1);
    assert.match(x.note ?? '', /default deny/);
  });
  test('malformed request: note says why', () => {
    const x = explain(p, { jid: 'n@grid.test', groups: [] }, 'query', 'a~zz');
    assert.equal(x.decision.effect, 'deny');
    assert.match(x.note ?? '', /neither a valid topic name nor a subtopic/);
  });
});

test('decide (indexed) agrees with a plain first-match scan and with explain', () => {
  const heads = ['threat-intel', 'incidents', 'internal', 'x'];
  const lines: string[] = [];
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 16) % n; // high bits: the low ones cycle
  const ops: Operation[] = ['discover', 'create', 'publish', 'subscribe', 'query', 'bulk'];
  for (let i = 0; i < 40; i++) {
    const parts = [`id: r${i}`, `effect: ${rnd(2) ? 'permit' : 'deny'}`];
    if (rnd(2)) parts.push(`operations: [${ops[rnd(6)]}, ${ops[rnd(6)]}]`);
    if (rnd(4)) parts.push(`groups: [${['soc', 'partners', 'providers'][rnd(3)]}]`);
    if (rnd(4)) parts.push(`topics: ["${[`${heads[rnd(4)]}/**`, `${heads[rnd(4)]}/*`, '**/a', `*/b`, heads[rnd(4)]][rnd(5)]}"]`);
    if (rnd(5) === 0) parts.push('clients: ["*@partner.example"]');
    // A permit must name whom (schema-rule.ts); "*" is everyone, and matches like any glob.
    if (parts[1] === 'effect: permit' && !parts.some((x) => /^(groups|clients):/.test(x))) parts.push('clients: ["*"]');
    lines.push(`  - { ${parts.join(', ')} }`);
  }
  const p = policy(GROUPS + 'rules:\n' + lines.join('\n') + '\n');
  const topics = ['threat-intel', 'threat-intel/a', 'threat-intel/b/a', 'incidents/b', 'internal/x/y', 'x', 'y/b', 'zzz'];
  const seen = { permit: 0, deny: 0, none: 0 };
  for (let i = 0; i < 2000; i++) {
    const subject = { jid: rnd(3) ? 'n@grid.test' : 'p@partner.example', groups: [['soc'], ['partners'], [], ['providers', 'soc']][rnd(4)] };
    const op = ops[rnd(6)];
    const topic = topics[rnd(topics.length)];
    const q = { subject, jid: subject.jid, operation: op, topic };
    const linear = p.rules.find((r) => ruleMatches(r, q))?.id ?? null;
    const d = decide(p, subject, op, topic);
    assert.equal(d.ruleId, linear, `${op} ${topic} ${JSON.stringify(subject)}`);
    assert.deepEqual(explain(p, subject, op, topic).decision, d);
    seen[d.ruleId === null ? 'none' : d.effect]++;
  }
  // The workload must exercise all three outcomes, or the comparison proves little.
  assert.ok(seen.permit > 100 && seen.deny > 100 && seen.none > 100, JSON.stringify(seen));
});
