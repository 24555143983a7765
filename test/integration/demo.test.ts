// The demo grid (`bash scripts/demo.sh`) run in-process with a short replay: its structured
// summary must show the policy at work (auto and admin approval, filter and TLP cuts), and
// nothing it started may outlive it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runDemo } from '../../src/devgrid/demo-run.js';
import { ATTACK_ICS_FILE, MAX_BUNDLE_BYTES, bundleDoc, loadStixObjects, markCopy, packBundles } from '../../src/devgrid/demo-data.js';
import { TLP2_MARKINGS, objectTlp } from '../../src/filters/tlp.js';
import type { StixObject } from '../../src/payloads/types.js';
import { loadConfig } from '../../src/config/load.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** `grid-controller accounts list --config FILE` (the demo has stopped: read offline). */
async function adminOfflineList(conf: string): Promise<string> {
  const r = await promisify(execFile)(process.execPath, [join(process.cwd(), 'dist/src/cli/grid-controller.js'), 'accounts', 'list', '--config', conf], { encoding: 'utf8' });
  return r.stdout;
}

function screen(onLine?: (l: string) => void): { out: Writable; text: () => string } {
  let text = '';
  const out = new Writable({
    write(chunk, _enc, done) {
      const s = String(chunk);
      text += s;
      onLine?.(s);
      done();
    },
  });
  return { out, text: () => text };
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

test('bundles: small enough for one item, support objects in each, a TLP 2.0 marking on every content object', () => {
  const objects = loadStixObjects(ATTACK_ICS_FILE);
  const { bundles, skipped } = packBundles(objects, 30);
  assert.deepEqual(skipped.map((o) => o.type), ['x-mitre-collection']); // the 209 KB collection object
  assert.equal(bundles.reduce((n, b) => n + b.content.length, 0) + skipped.length + 2, objects.length);
  const tlps = new Set<string>();
  for (const b of bundles) {
    assert.ok(b.content.length <= 30 && b.content.length > 0);
    assert.ok(JSON.stringify(bundleDoc(b)).length <= MAX_BUNDLE_BYTES, `${b.itemId} too big`);
    assert.deepEqual(b.objects.filter((o) => o.type === 'identity' || o.type === 'marking-definition').length, 2);
    for (const o of b.content) {
      const t = objectTlp(o);
      assert.ok(t, `${o.id} has no TLP`);
      tlps.add(t);
      assert.ok((o.object_marking_refs as string[]).some((r) => r in TLP2_MARKINGS));
    }
  }
  assert.deepEqual([...tlps].sort(), ['amber', 'clear', 'green', 'red']);
  const original = objects.find((o) => o.type === 'attack-pattern')!;
  const before = JSON.stringify(original);
  const copy = markCopy(original);
  assert.equal(JSON.stringify(original), before, 'the original object is not changed');
  assert.equal((copy.object_marking_refs as string[]).length, (original.object_marking_refs as string[]).length + 1);
  const identity: StixObject = objects.find((o) => o.type === 'identity')!;
  assert.equal(markCopy(identity), identity, 'support objects stay unmarked');
});

test('demo: registers, subscribes, replays, cuts by filter and TLP cap, then stops everything', async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'grid-demo-'));
  const s = screen();
  try {
    const summary = await runDemo({ workDir, bundles: 4, delayMs: 0, out: s.out, color: false });
    assert.equal(summary.aborted, false);
    const reg = Object.fromEntries(summary.registrations.map((r) => [r.name, r]));
    assert.deepEqual(Object.keys(reg), ['sandbox1', 'soc1', 'soc2', 'partner1']);
    for (const r of summary.registrations) assert.equal(r.status, 'approved', r.name);
    assert.equal(reg.sandbox1!.decidedBy, 'auto:sandboxes');
    assert.deepEqual(reg.sandbox1!.groups, ['providers']);
    assert.equal(reg.soc1!.decidedBy, 'auto:dev-ca-soc');
    assert.match(reg.partner1!.decidedBy, /^cli:[^:]+$/, 'partner1 is approved by the administrator command, named by its login');
    assert.deepEqual(reg.partner1!.groups, ['partners']);

    assert.equal(summary.published.items, 4);
    const c = Object.fromEntries(summary.consumers.map((x) => [x.name, x]));
    for (const x of summary.consumers) {
      assert.ok(x.items > 0, `${x.name} received nothing`);
      assert.equal(x.matchesQuery, true, `${x.name}: live deliveries differ from the query`);
      assert.deepEqual(x.missing, []);
    }
    assert.deepEqual(c.soc1!.byType, summary.published.byType, 'the unfiltered SOC node gets every object');
    assert.deepEqual(Object.keys(c.soc2!.byType), ['attack-pattern']);
    assert.ok(Object.keys(c.soc2!.byTlp).every((t) => t === 'clear' || t === 'green'));
    assert.deepEqual(summary.subtopicsAnnounced, [c.soc2!.subtopic], 'the publisher is told of the filtered subtopic');

    // partner1: no filter, but rule partners-consume caps it at TLP:GREEN with unmarked denied.
    assert.deepEqual(Object.keys(c.partner1!.byTlp).sort(), ['clear', 'green']);
    const clearGreen = (summary.published.byTlp.clear ?? 0) + (summary.published.byTlp.green ?? 0);
    assert.equal(c.partner1!.objects, clearGreen);
    assert.ok(c.partner1!.objects < summary.published.objects);
    // Step 5, TAXII 2.1: the XMPP publishes are readable, the cap holds there too, a POST reaches XMPP subscribers.
    assert.ok(summary.taxii, 'the TAXII step ran');
    assert.ok(summary.taxii.soc1Objects >= summary.published.objects, 'soc1 reads every published object over TAXII');
    assert.ok(summary.taxii.partner1Objects < summary.taxii.soc1Objects, 'partner1 is capped over TAXII too');
    assert.deepEqual([...summary.taxii.notified].sort(), ['partner1', 'soc1', 'soc2']);

    assert.ok(gone(summary.serverPid), `server ${summary.serverPid} still runs`);
    assert.match(s.text(), /ATT&CK carries no TLP marking/);
    assert.match(s.text(), /grid-controller accounts approve partner1@grid\.test --groups partners/);
    // issue 11: which data and policy folders are live, and how to point the CLI at them
    const conf = join(workDir, 'controller.yaml');
    assert.ok(s.text().includes(`grid-controller accounts list --config ${conf}`), 'the --config hint');
    assert.ok(s.text().includes(`live data ${join(workDir, 'var')}`) && s.text().includes(`policies ${join(workDir, 'policies')}`));
    const cfg = loadConfig({ file: conf, env: {} });
    assert.deepEqual([cfg.data, cfg.policies], [join(workDir, 'var'), join(workDir, 'policies')]);
    const listed = await adminOfflineList(conf);
    assert.ok(listed.includes('partner1@grid.test'), `accounts list --config reads the demo's accounts: ${listed}`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});

test('demo: aborting mid-replay (Ctrl-C) stops the XMPP server, the controller and the nodes', async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'grid-demo-'));
  const stop = new AbortController();
  const s = screen((l) => { if (l.includes('ics-b02')) stop.abort(); });
  try {
    const summary = await runDemo({ workDir, bundles: 20, delayMs: 0, out: s.out, color: false, signal: stop.signal });
    assert.equal(summary.aborted, true);
    assert.ok(summary.published.items >= 2 && summary.published.items < 20);
    assert.deepEqual(summary.consumers, [], 'no summary of a replay that did not finish');
    assert.ok(gone(summary.serverPid), `server ${summary.serverPid} still runs`);
    assert.match(s.text(), /stopped by Ctrl-C/);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});
