// A half-written policy file cannot widen access: every byte-prefix of each shipped file,
// with the other files whole, is fed to the loader the watcher uses. None may be accepted
// (the end-line rule), so none can grant more than the whole folder.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyDir, findWidenings, type PolicySubject } from '../../src/policy/index.js';

const SHIPPED = 'policies';
const dir = mkdtempSync(join(tmpdir(), 'policy-prefix-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Accounts of every kind the shipped rules speak about, for the widening comparison.
const SUBJECTS: PolicySubject[] = [
  { jid: 'soc@grid.test', groups: ['soc'] },
  { jid: 'p@partner.example', groups: ['partners'] },
  { jid: 'sb@grid.test', groups: ['providers'], deviceType: 'sandbox' },
  { jid: 'nobody@grid.test', groups: [] },
  { jid: 'tip@partner.example', groups: ['providers', 'partners'], deviceType: 'tip' },
];
const TOPICS = ['threat-intel/indicators', 'threat-intel/new', 'incidents/iodef', 'internal/hr', 'other'];

for (const name of readdirSync(SHIPPED).filter((n) => n.endsWith('.yaml')).sort()) {
  test(`no strict byte-prefix of ${name} is accepted`, async () => {
    cpSync(SHIPPED, dir, { recursive: true });
    const whole = loadPolicyDir(dir);
    assert.ok(whole.ok, JSON.stringify(!whole.ok && whole.errors));
    const bytes = readFileSync(join(SHIPPED, name));
    const accepted: number[] = [];
    let widening = 0;
    for (let n = 0; n < bytes.length; n++) {
      writeFileSync(join(dir, name), bytes.subarray(0, n));
      const r = loadPolicyDir(dir);
      if (!r.ok) continue;
      accepted.push(n);
      if ((await findWidenings(whole.policy, r.policy, SUBJECTS, TOPICS)).length) widening++;
    }
    assert.equal(widening, 0, `${widening} accepted prefixes grant more than the whole file`);
    assert.deepEqual(accepted, [], `prefixes accepted at byte lengths ${accepted.slice(0, 10).join(', ')}…`);
    writeFileSync(join(dir, name), bytes);
    assert.ok(loadPolicyDir(dir).ok, 'the whole file is accepted again');
  });
}
