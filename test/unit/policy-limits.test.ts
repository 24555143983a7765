// `limits:` in policy files (README "Rate limits"): defaults, per-group keys, the suspension
// rule; every mistake named with its file and line, each part said in one file only.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyDir, parsePolicyText } from '../../src/policy/index.js';
import { DEFAULT_RATE_LIMITS, DEFAULT_SUSPEND } from '../../src/limits/index.js';

const root = mkdtempSync(join(tmpdir(), 'policy-limits-'));
after(() => rmSync(root, { recursive: true, force: true }));

const G = 'groups: { soc: S, providers: P }\n';

test('without limits: the built-in defaults and suspension rule', () => {
  const r = parsePolicyText(`${G}# end\n`);
  assert.ok(r.ok);
  assert.deepEqual(r.policy.limits, { defaults: DEFAULT_RATE_LIMITS, groups: {}, suspend: DEFAULT_SUSPEND });
});

test('defaults override the built-in key by key; groups set their own keys; suspend: off disables suspension', () => {
  const r = parsePolicyText(`${G}limits:
  defaults: { iq_per_s: 50, iq_burst: 100 }
  groups:
    providers: { publish_per_s: 400, publish_burst: 800, inflight: 64 }
  suspend: off
# end
`);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.deepEqual(r.policy.limits.defaults, { ...DEFAULT_RATE_LIMITS, iq_per_s: 50, iq_burst: 100 });
  assert.deepEqual(r.policy.limits.groups, { providers: { publish_per_s: 400, publish_burst: 800, inflight: 64 } });
  assert.equal(r.policy.limits.suspend, null);
  const s = parsePolicyText(`limits:\n  suspend: { violations: 10, within_s: 5 }\n# end\n`);
  assert.ok(s.ok);
  assert.deepEqual(s.policy.limits.suspend, { violations: 10, within_s: 5, over_rate_s: 5 }, 'over_rate_s left out: 90 % of within_s, rounded up');
  const o = parsePolicyText(`limits:\n  suspend: { violations: 10, within_s: 60, over_rate_s: 30 }\n# end\n`);
  assert.ok(o.ok);
  assert.deepEqual(o.policy.limits.suspend, { violations: 10, within_s: 60, over_rate_s: 30 });
});

test('each mistake in limits names its line and reason', () => {
  const cases: [string, number, RegExp][] = [
    ['limits:\n  default: {}\n', 2, /unknown key 'default' in limits \(known: defaults, groups, suspend\)/],
    ['limits:\n  defaults: { iq_per_sec: 5 }\n', 2, /unknown key 'iq_per_sec' in limits.defaults \(known: iq_per_s, iq_burst/],
    ['limits:\n  defaults:\n    iq_per_s: fast\n', 3, /limits.defaults.iq_per_s must be an integer \(it is a string\)/],
    ['limits:\n  defaults:\n    iq_per_s: 0\n', 3, /limits.defaults.iq_per_s must be between 1 and/],
    ['limits:\n  defaults:\n    iq_per_s: 10\n    iq_burst: 5\n', 4, /iq_burst \(5\) is below iq_per_s \(10\)/],
    [`${G}limits:\n  groups:\n    nobody: { iq_per_s: 5 }\n`, 4, /limits.groups: group 'nobody' is not declared under groups/],
    [`${G}limits:\n  groups:\n    soc: { queue: -1 }\n`, 4, /limits.groups.soc.queue must be between 1/],
    ['limits:\n  suspend: { violations: 10 }\n', 2, /limits.suspend needs within_s/],
    ['limits:\n  suspend: { violations: 10, within_s: 5, over_rate_s: 6 }\n', 2, /over_rate_s \(6\) must be at most within_s \(5\)/],
    ['limits:\n  suspend: never\n', 2, /limits.suspend \(or 'off'\) must be a mapping/],
    ['limits: 5\n', 1, /limits must be a mapping/],
  ];
  for (const [yaml, line, re] of cases) {
    const r = parsePolicyText(yaml, 'p.yaml');
    assert.equal(r.ok, false, yaml);
    if (r.ok) continue;
    assert.ok(r.errors.some((e) => e.line === line && re.test(e.message)), `${yaml} → ${JSON.stringify(r.errors)}`);
  }
});

test('a part of limits said in two files is an error naming the first', () => {
  const dir = join(root, 'two');
  mkdirSync(dir);
  writeFileSync(join(dir, '00.yaml'), `${G}limits:\n  defaults: { iq_per_s: 5, iq_burst: 5 }\n  groups:\n    soc: { iq_per_s: 9, iq_burst: 9 }\n# end\n`);
  writeFileSync(join(dir, '10.yaml'), 'limits:\n  groups:\n    soc: { iq_per_s: 7, iq_burst: 7 }\n  defaults: { iq_per_s: 6, iq_burst: 6 }\n# end\n');
  const r = loadPolicyDir(dir);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(r.errors.map((e) => [e.file, e.line, e.message]), [
    [join(dir, '10.yaml'), 3, "limits 'groups.soc' is already defined at 00.yaml:5"],
    [join(dir, '10.yaml'), 4, "limits 'defaults' is already defined at 00.yaml:3"],
  ]);
});
