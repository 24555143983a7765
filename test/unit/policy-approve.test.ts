import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { autoApproveMismatch, loadPolicyDir, matchAutoApprove, parsePolicyText, type AutoApproveRequest, type Policy } from '../../src/policy/index.js';

const r = parsePolicyText(`
groups: { soc: S, providers: P, partners: X }
registration:
  auto_approve:
    - id: dev-ca-soc
      issuer: { O: Grid Dev CA }
      subject: { OU: soc }
      groups: [soc]
    - id: sandboxes
      issuer: { O: Grid Dev CA }
      device_types: [sandbox, tip]
      requested_groups: [providers]
      groups: [providers]
    - id: acme-no-groups
      issuer: { O: Acme CA, CN: Acme Issuing 1 }
      groups: []
# end
`);
if (!r.ok) throw new Error(JSON.stringify(r.errors));
const policy: Policy = r.policy;

const DEV = { O: 'Grid Dev CA', CN: 'Grid Dev CA' };
const req = (over: Partial<AutoApproveRequest>): AutoApproveRequest => ({ issuer: DEV, subject: { CN: 'n1' }, requestedGroups: [], ...over });

describe('matchAutoApprove', () => {
  const cases: [string, AutoApproveRequest, string | null][] = [
    ['issuer and subject OU match', req({ subject: { OU: 'soc', CN: 'n1' } }), 'dev-ca-soc'],
    ['first matching entry wins', req({ subject: { OU: 'soc' }, deviceType: 'sandbox' }), 'dev-ca-soc'],
    ['subject OU differs (exact, case-sensitive)', req({ subject: { OU: 'SOC' } }), null],
    ['other issuer', req({ issuer: { O: 'Evil CA' }, subject: { OU: 'soc' } }), null],
    ['sandbox asking for nothing', req({ deviceType: 'sandbox' }), 'sandboxes'],
    ['tip asking for providers', req({ deviceType: 'tip', requestedGroups: ['providers'] }), 'sandboxes'],
    ['sandbox asking for a group outside providers', req({ deviceType: 'sandbox', requestedGroups: ['providers', 'soc'] }), null],
    ['device type not listed', req({ deviceType: 'siem' }), null],
    ['no device type declared', req({}), null],
    ['all issuer attributes must match', req({ issuer: { O: 'Acme CA', CN: 'Acme Issuing 2' } }), null],
    ['entry with empty groups', req({ issuer: { O: 'Acme CA', CN: 'Acme Issuing 1', C: 'US' } }), 'acme-no-groups'],
  ];
  for (const [name, request, want] of cases) {
    test(name, () => assert.equal(matchAutoApprove(policy, request)?.id ?? null, want));
  }
  test('the entry carries the groups to give', () => {
    assert.deepEqual(matchAutoApprove(policy, req({ deviceType: 'tip' }))?.groups, ['providers']);
    assert.deepEqual(matchAutoApprove(policy, req({ issuer: { O: 'Acme CA', CN: 'Acme Issuing 1' } }))?.groups, []);
  });
  test('mismatch reasons say what differed', () => {
    const [, sandboxes] = policy.autoApprove;
    assert.match(autoApproveMismatch(sandboxes, req({ deviceType: 'tip', requestedGroups: ['soc'] })) ?? '', /outside providers: soc/);
    assert.match(autoApproveMismatch(sandboxes, req({})) ?? '', /no device type/);
  });
  test('the shipped policies/ approve dev-CA SOC nodes and sandboxes', () => {
    const shipped = loadPolicyDir('policies');
    assert.ok(shipped.ok);
    assert.equal(matchAutoApprove(shipped.policy, req({ subject: { OU: 'soc' } }))?.id, 'dev-ca-soc');
    assert.equal(matchAutoApprove(shipped.policy, req({ deviceType: 'sandbox', requestedGroups: ['providers'] }))?.id, 'sandboxes');
    assert.equal(matchAutoApprove(shipped.policy, req({ deviceType: 'firewall' })), null);
  });
});
