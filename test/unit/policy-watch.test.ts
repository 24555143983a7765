import { test, describe, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decide, PolicyLoadError, PolicyWatcher, type Policy, type PolicyError } from '../../src/policy/index.js';

const root = mkdtempSync(join(tmpdir(), 'policy-watch-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const watchers: PolicyWatcher[] = [];
afterEach(() => {
  while (watchers.length) watchers.pop()?.stop();
});

/** Every policy file ends with this line (see schema.ts endMarkerProblem). */
const END = '# end\n';
const GROUPS = 'groups: { soc: S }\n' + END;
const RULES_A = 'rules:\n  - { id: a, effect: permit, groups: [soc], topics: ["a/**"] }\n';
const RULE_A = RULES_A + END;
const RULE_B = 'rules:\n  - { id: b, effect: permit, groups: [soc], topics: ["b/**"] }\n' + END;

function setup(files: Record<string, string>): { dir: string; w: PolicyWatcher } {
  const dir = join(root, `d${n++}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const w = new PolicyWatcher(dir, undefined, 50);
  watchers.push(w);
  return { dir, w };
}

type Outcome = { event: 'change'; policy: Policy } | { event: 'rejected'; errors: PolicyError[] };
/** The next thing the watcher reports, whichever it is, so a wrong outcome fails fast instead of hanging. */
function next(w: PolicyWatcher): Promise<Outcome> {
  return new Promise((resolve) => {
    const onChange = (policy: Policy) => { w.off('rejected', onRejected); resolve({ event: 'change', policy }); };
    const onRejected = (errors: PolicyError[]) => { w.off('change', onChange); resolve({ event: 'rejected', errors }); };
    w.once('change', onChange);
    w.once('rejected', onRejected);
  });
}

const ids = (p: Policy) => p.rules.map((r) => r.id);
const soc = { jid: 'n@grid.test', groups: ['soc'] };

describe('PolicyWatcher', { timeout: 10_000 }, () => {
  test('start() throws PolicyLoadError with the errors when the first load is invalid', () => {
    const { w } = setup({ '00.yaml': 'rules:\n  - { id: a, effect: maybe }\n' + END });
    assert.throws(() => w.start(), (e: unknown) => {
      assert.ok(e instanceof PolicyLoadError);
      assert.equal(e.errors[0].line, 2);
      assert.match(e.message, /00\.yaml:2: rule 'a': effect 'maybe'/);
      return true;
    });
  });

  test('a valid change applies', async () => {
    const { dir, w } = setup({ '00.yaml': GROUPS, '10.yaml': RULE_A });
    const first = w.start();
    assert.deepEqual(ids(first), ['a']);
    const outcome = next(w);
    writeFileSync(join(dir, '20.yaml'), RULE_B);
    const o = await outcome;
    assert.equal(o.event, 'change');
    assert.deepEqual(ids(w.current()), ['a', 'b']);
    assert.equal(decide(w.current(), soc, 'query', 'b/x').ruleId, 'b');
    assert.equal(decide(first, soc, 'query', 'b/x').ruleId, null, 'the old policy object is unchanged');
  });

  test('an invalid change is rejected whole and the last good policy stays', async () => {
    const { dir, w } = setup({ '00.yaml': GROUPS, '10.yaml': RULE_A });
    const good = w.start();
    const outcome = next(w);
    // One good rule and one bad one in the same change: nothing of it applies.
    writeFileSync(join(dir, '10.yaml'), RULES_A + '  - { id: c, effect: permit, groups: [nobody] }\n' + END);
    const o = await outcome;
    assert.equal(o.event, 'rejected');
    assert.equal(o.event === 'rejected' && o.errors[0].line, 3);
    assert.equal(w.current(), good);
  });

  test('a partially written file is rejected; the completed file then applies', async () => {
    const { dir, w } = setup({ '00.yaml': GROUPS, '10.yaml': RULE_A });
    const good = w.start();
    const full = RULES_A + '  - { id: d, effect: permit, groups: [soc], topics: ["d/**"] }\n' + END;
    let outcome = next(w);
    writeFileSync(join(dir, '10.yaml'), full.slice(0, full.length - 12)); // cut inside the flow mapping
    let o = await outcome;
    assert.equal(o.event, 'rejected');
    assert.equal(w.current(), good);
    outcome = next(w);
    writeFileSync(join(dir, '10.yaml'), full);
    o = await outcome;
    assert.equal(o.event, 'change');
    assert.deepEqual(ids(w.current()), ['a', 'd']);
  });

  test('a deleted file takes its rules with it', async () => {
    const { dir, w } = setup({ '00.yaml': GROUPS, '10.yaml': RULE_A, '20.yaml': RULE_B });
    assert.deepEqual(ids(w.start()), ['a', 'b']);
    const outcome = next(w);
    unlinkSync(join(dir, '10.yaml'));
    const o = await outcome;
    assert.equal(o.event, 'change');
    assert.deepEqual(ids(w.current()), ['b']);
    assert.deepEqual(w.current().files, ['00.yaml', '20.yaml']);
  });

  test('a cut that drops a rule (and its max_tlp) is rejected: the policy in force, and so every subscription, stays', async () => {
    const shipped = Object.fromEntries(['00-groups.yaml', '10-topics.yaml', '20-rules.yaml'].map((f) => [f, readFileSync(join('policies', f), 'utf8')]));
    const { dir, w } = setup(shipped);
    const good = w.start();
    const rules = shipped['20-rules.yaml']!;
    // Cut right after partners-consume's unmarked line: valid YAML without the rules after it.
    const cut = rules.slice(0, rules.indexOf('\n', rules.indexOf('unmarked: deny')) + 1);
    const outcome = next(w);
    writeFileSync(join(dir, '20-rules.yaml'), cut);
    const o = await outcome;
    assert.equal(o.event, 'rejected');
    assert.match(o.event === 'rejected' ? o.errors[0]!.message : '', /does not end with the line '# end'/);
    assert.equal(w.current(), good, 'no change event: the re-check that ends subscriptions never runs');
    assert.ok(ids(w.current()).includes('providers-publish'));
  });

  test('deleting the file that declares the groups is rejected (rules elsewhere need them)', async () => {
    const { dir, w } = setup({ '00.yaml': GROUPS, '10.yaml': RULE_A });
    const good = w.start();
    const outcome = next(w);
    unlinkSync(join(dir, '00.yaml'));
    const o = await outcome;
    assert.equal(o.event, 'rejected');
    assert.equal(w.current(), good);
  });

  test('reloadNow reports errors and keeps the last good policy; files other than *.yaml are ignored', async () => {
    const { dir, w } = setup({ '00.yaml': GROUPS, '10.yaml': RULE_A });
    const good = w.start();
    w.stop(); // drive reloads by hand only
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    const ok = await w.reloadNow();
    assert.ok(ok.ok);
    assert.deepEqual(ids(w.current()), ['a']);
    writeFileSync(join(dir, '20.yaml'), 'rules: [');
    const rejected: PolicyError[][] = [];
    w.on('rejected', (e) => rejected.push(e));
    const r = await w.reloadNow();
    assert.ok(!r.ok);
    assert.equal(rejected.length, 1);
    assert.equal(r.errors[0].file, join(dir, '20.yaml'));
    assert.deepEqual(ids(w.current()), ids(good));
  });

  test('logs through a pino-like logger without throwing', () => {
    const lines: string[] = [];
    const log = { info: (_o: object, m?: string) => lines.push(`info ${m}`), warn: () => {}, error: () => {}, debug: () => {} };
    const dir = join(root, `d${n++}`);
    mkdirSync(dir);
    const w = new PolicyWatcher(dir, log);
    watchers.push(w);
    assert.deepEqual(ids(w.start()), []);
    assert.deepEqual(lines, ['info policy loaded']);
  });
});
