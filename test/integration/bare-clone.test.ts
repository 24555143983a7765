// A clone stands alone (issue 11): the repository's committed HEAD, cloned into an empty
// temporary folder with nothing beside it, installs from the npm cache, runs the README's
// first command (`bash scripts/demo.sh`: setup, build, a whole grid, its summary) and passes
// the tests that read the shipped data and the protocol copy.
//
// The clone does not run the whole suite again: that would run this file inside itself
// and double CI time. What a clone can lack is files (data, fixtures, docs, anything
// untracked or ignored), and the tests that read files are the ones below; everything else
// is the same compiled code the outer suite runs. The list is fixed, so no recursion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/devgrid/data-files.js';

/** The tests that read files shipped in the repository (data/, test/fixtures/, docs/). */
const DATA_TESTS = ['payloads-stix', 'filters-cut', 'filters-match', 'bench-smoke', 'docs-protocol'].map((n) => `dist/test/unit/${n}.test.js`);

interface Run { code: number | null; signal: string | null; stdout: string; stderr: string }

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

const tail = (s: string) => s.slice(-3000);

test('bare clone: npm install from the cache, `bash scripts/demo.sh` exits 0 with its summary, the data-reading tests pass', { timeout: 20 * 60_000 }, async () => {
  assert.ok(!DATA_TESTS.some((f) => f.includes('bare-clone')), 'the clone never runs this file (no recursion)');
  const parent = mkdtempSync(join(tmpdir(), 'grid-clone-'));
  try {
    const dir = join(parent, 'xmpp-grid');
    // npm may use its cache and the registry, nothing else; no GRID_* settings leak in, and
    // not NODE_TEST_CONTEXT either (with it, the clone's test runner silently runs no file).
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRID_') && !k.startsWith('npm_') && k !== 'NODE_TEST_CONTEXT'));
    env.npm_config_prefer_offline = 'true';
    const clone = await run('git', ['clone', '--quiet', '--no-hardlinks', REPO_ROOT, dir], parent, env);
    assert.equal(clone.code, 0, `git clone: ${clone.stderr}`);
    assert.deepEqual(readdirSync(parent), ['xmpp-grid'], 'nothing beside the clone');
    assert.ok(!existsSync(join(dir, 'node_modules')) && !existsSync(join(dir, 'dist')), 'a clone has no install and no build');

    // The README's first command, with a shorter replay: setup (npm ci, build) is the same.
    const demo = await run('bash', ['scripts/demo.sh', '--bundles', '12', '--delay', '0', '--json'], dir, env);
    assert.equal(demo.code, 0, `demo exited ${demo.code ?? demo.signal}:\n${tail(demo.stderr)}\n${tail(demo.stdout)}`);
    const summary = JSON.parse(demo.stdout.trim().split('\n').pop()!) as { published: { items: number; objects: number }; consumers: { name: string; items: number; matchesQuery: boolean }[]; aborted: boolean };
    assert.equal(summary.aborted, false);
    assert.equal(summary.published.items, 12);
    assert.ok(summary.consumers.length >= 2 && summary.consumers.every((c) => c.items > 0 && c.matchesQuery), JSON.stringify(summary.consumers));

    const tests = await run(process.execPath, ['scripts/run-tests.mjs', ...DATA_TESTS], dir, env);
    assert.equal(tests.code, 0, `tests in the clone failed:\n${tail(tests.stdout)}\n${tail(tests.stderr)}`);
    assert.match(tests.stdout, /ℹ fail 0/);
    assert.doesNotMatch(tests.stdout, /ℹ pass 0\b/);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
