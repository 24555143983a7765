// The npm package as an operator installs it: `npm pack`, then a global install into an
// empty prefix, offline from the npm cache, and both commands answer --version and --help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = process.cwd();
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function sh(cmd: string, args: string[], cwd: string, timeout = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

test('npm pack → npm install -g into an empty prefix → grid-controller and grid-node run', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'grid-pkg-'));
  try {
    // dist/ is fresh (npm test builds first); a release's `npm pack` runs prepack, which builds.
    const pack = await sh(NPM, ['pack', '--ignore-scripts', '--pack-destination', tmp, '--json'], ROOT);
    assert.equal(pack.code, 0, pack.stderr);
    const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    const paths = info!.files.map((f) => f.path);
    for (const p of ['dist/src/cli/grid-controller.js', 'dist/src/agent/cli/grid-node.js', 'contrib/grid-controller.service', 'src/prosody/mod_grid_multicast.lua', 'policies/00-groups.yaml']) {
      assert.ok(paths.includes(p), `the package carries ${p}`);
    }
    assert.ok(!paths.some((p) => p.startsWith('dist/test/') || p.startsWith('test/') || p.includes('.key')), 'no tests, no keys');

    const prefix = join(tmp, 'prefix');
    const args = ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', join(tmp, info!.filename)];
    let inst = await sh(NPM, [...args, '--offline'], tmp);
    // A cache filled by `npm ci` holds the tarballs but not always the registry metadata a
    // global install resolves with; then let npm fetch only what the cache lacks.
    if (inst.code !== 0 && /ENOTCACHED/.test(inst.stderr)) inst = await sh(NPM, [...args, '--prefer-offline'], tmp);
    assert.equal(inst.code, 0, inst.stderr);

    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const bin = join(prefix, 'bin');
    for (const cmd of ['grid-controller', 'grid-node']) {
      assert.ok(existsSync(join(bin, cmd)), `${cmd} is on the prefix's PATH (${readdirSync(bin).join(', ')})`);
      const v = await sh(join(bin, cmd), ['--version'], tmp, 30_000);
      assert.deepEqual([v.code, v.stdout], [0, `${version}\n`], `${cmd} --version: ${v.stderr}`);
      const h = await sh(join(bin, cmd), ['--help'], tmp, 30_000);
      assert.equal(h.code, 0, h.stderr);
      assert.match(h.stdout, new RegExp(`^Usage: ${cmd} `));
    }
    const help = await sh(join(bin, 'grid-controller'), ['--help'], tmp, 30_000);
    for (const sub of ['start', 'status', 'accounts', 'certs', 'topics', 'policy']) assert.match(help.stdout, new RegExp(`\\n  ${sub}\\b`));
    const nodeHelp = await sh(join(bin, 'grid-node'), ['--help'], tmp, 30_000);
    assert.match(nodeHelp.stdout, /\n {2}csr\b/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
