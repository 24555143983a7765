// What a reload widens, by rule: permits where there were denials, looser release caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findWidenings, isWider, reportWidening, type Decision, type PolicySubject } from '../../src/policy/index.js';
import { policyOf } from '../helpers/fakes.js';

const GROUPS = 'groups: { soc: S, partners: P }\n';
const BASE = `${GROUPS}rules:
  - { id: no-internal, effect: deny, clients: ["*@partner.example"], topics: ["internal/**"] }
  - { id: soc, effect: permit, groups: [soc], operations: [subscribe, query], topics: ["threat-intel/**"] }
  - { id: partners, effect: permit, groups: [partners], operations: [subscribe], topics: ["threat-intel/**"], max_tlp: green, unmarked: deny }
  - { id: everyone-discovers, effect: permit, clients: ["*"], operations: [discover], topics: ["internal/**"] }
`;
const SUBJECTS: PolicySubject[] = [
  { jid: 's@grid.test', groups: ['soc'] },
  { jid: 'p@partner.example', groups: ['partners'] },
];
const TOPICS = ['threat-intel/x', 'internal/hr'];

const permit = (over: Partial<Decision> = {}): Decision => ({ effect: 'permit', ruleId: 'r', matched: [], ...over });
const deny: Decision = { effect: 'deny', ruleId: null, matched: [] };

test('isWider: deny → permit, a higher or removed max_tlp, unmarked deny → allow; nothing else', () => {
  assert.equal(isWider(deny, permit()), true);
  assert.equal(isWider(permit(), deny), false);
  assert.equal(isWider(permit({ maxTlp: 'green' }), permit({ maxTlp: 'amber' })), true);
  assert.equal(isWider(permit({ maxTlp: 'green' }), permit()), true);
  assert.equal(isWider(permit({ maxTlp: 'amber' }), permit({ maxTlp: 'green' })), false);
  assert.equal(isWider(permit({ unmarked: 'deny' }), permit()), true);
  assert.equal(isWider(permit(), permit({ unmarked: 'deny' })), false);
  assert.equal(isWider(permit(), permit()), false);
});

test('the same policy widens nothing; a narrower one neither', async () => {
  assert.deepEqual(await findWidenings(policyOf(BASE), policyOf(BASE), SUBJECTS, TOPICS), []);
  const narrower = policyOf(BASE.replace('operations: [subscribe, query]', 'operations: [subscribe]'));
  assert.deepEqual(await findWidenings(policyOf(BASE), narrower, SUBJECTS, TOPICS), []);
});

test('each widening is reported under the rule that now decides, with file, line and examples', async () => {
  const next = policyOf(BASE
    .replace('max_tlp: green, unmarked: deny', 'max_tlp: amber')
    .replace(/  - \{ id: no-internal.*\n/, '')
    .replace('operations: [discover], topics: ["internal/**"]', 'operations: [discover, subscribe], topics: ["internal/**"]'));
  const w = await findWidenings(policyOf(BASE), next, SUBJECTS, TOPICS);
  const byRule = Object.fromEntries(w.map((x) => [x.rule, x]));
  assert.deepEqual(Object.keys(byRule).sort(), ['everyone-discovers', 'partners']);
  assert.equal(byRule.partners!.accounts, 1);
  assert.deepEqual(byRule.partners!.examples, [{
    jid: 'p@partner.example', operation: 'subscribe', topic: 'threat-intel/x',
    before: 'permit by partners, max_tlp green, unmarked deny', after: 'permit by partners, max_tlp amber',
  }]);
  assert.equal(byRule.partners!.file, 'policy.yaml');
  assert.equal(byRule.partners!.line, 4, 'the rule\'s line in the new file');
  // The dropped deny opens internal/hr to the partner (discover), and the new operation to both.
  const ev = byRule['everyone-discovers']!;
  assert.equal(ev.accounts, 2);
  assert.ok(ev.examples.some((e) => e.jid === 'p@partner.example' && e.operation === 'discover' && e.before === 'deny by no-internal'));
});

test('reportWidening logs at warn with the rules, and stays quiet when nothing widened', async () => {
  const warned: { obj: object; msg?: string }[] = [];
  const log = { warn: (obj: object, msg?: string) => warned.push({ obj, msg }) };
  await reportWidening(log, policyOf(BASE), policyOf(BASE), SUBJECTS, TOPICS);
  assert.equal(warned.length, 0);
  await reportWidening(log, policyOf(BASE), policyOf(BASE.replace('max_tlp: green, unmarked: deny', 'max_tlp: red')), SUBJECTS, TOPICS);
  assert.equal(warned.length, 1);
  assert.match(warned[0]!.msg ?? '', /widens access for existing accounts \(rules: partners\)/);
  assert.equal((warned[0]!.obj as { audit: string }).audit, 'policy-widened');
});
