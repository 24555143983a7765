// Runs every compiled test file with node's built-in runner, so each run ends with its summary.
// Node 20's --test does not expand globs, hence this small walker.
//
// Integration tests (dist/test/integration) run once per XMPP server: the dev grid reads
// GRID_TEST_SERVER, so every integration test runs on Prosody and on ejabberd without naming
// either. Files that only make sense on one server are listed in src/devgrid/server-profile.ts
// (ONLY_ON). GRID_TEST_SERVERS=prosody (or ejabberd, or both comma-separated) narrows the matrix.
import { readdirSync, statSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import { spawn } from 'node:child_process';

const { ONLY_ON, SERVER_KINDS, TEST_SERVER_ENV, parseServerKind } = await import('../dist/src/devgrid/server-profile.js');

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const only = process.argv.slice(2);
const roots = only.length ? only : ['dist/test'];
const files = roots.flatMap((r) => (statSync(r).isDirectory() ? walk(r, []) : [r])).sort();
if (files.length === 0) {
  console.error('run-tests: no test files found under', roots.join(', '));
  process.exit(1);
}
const servers = (process.env.GRID_TEST_SERVERS ?? SERVER_KINDS.join(',')).split(',').map((s) => parseServerKind(s.trim()));
const isIntegration = (f) => f.split(sep).includes('integration');
const runsOn = (f, server) => (ONLY_ON[basename(f)] ?? server) === server;
const plain = files.filter((f) => !isIntegration(f));
const integration = files.filter(isIntegration);

/** Runs the files, echoing the output, and returns the runner's summary counts. */
function run(label, list, env) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...list], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    // The runner's closing summary ("ℹ pass 12"): read line by line as it streams by.
    const counts = {};
    let partial = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      const lines = (partial + d.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        const m = /^ℹ (tests|pass|fail) (\d+)$/.exec(l.trim());
        if (m) counts[m[1]] = Number(m[2]);
      }
    });
    child.on('close', (code) => {
      const count = (name) => counts[name] ?? NaN;
      resolve({ label, files: list.length, code: code ?? 1, tests: count('tests'), pass: count('pass'), fail: count('fail'), seconds: (Date.now() - started) / 1000 });
    });
  });
}

const results = [];
// Unit, protocol and contract tests need no XMPP server: they run once, with the first server's integration files.
for (const [i, server] of servers.entries()) {
  const list = [...(i === 0 ? plain : []), ...integration.filter((f) => runsOn(f, server))];
  if (list.length) results.push(await run(i === 0 && plain.length ? `${server} (+ unit)` : server, list, { [TEST_SERVER_ENV]: server }));
}
if (!servers.length && plain.length) results.push(await run('unit', plain, {}));
console.log('\nrun-tests: per server');
for (const r of results) {
  console.log(`  ${r.label.padEnd(20)} ${r.files} files, ${r.tests} tests, ${r.pass} pass, ${r.fail} fail, ${r.seconds.toFixed(1)} s`);
}
// One plain closing line over every run, so the whole matrix ends with its total.
const sum = (k) => results.reduce((n, r) => n + (Number.isNaN(r[k]) ? 0 : r[k]), 0);
console.log(`run-tests: ${sum('pass')} passed, ${sum('fail')} failed`);
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
