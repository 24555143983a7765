// The controller as an operator runs it: `grid-controller start` in its own process, clean
// stop on SIGTERM, one clear line and a non-zero exit when it cannot start, and a link that
// comes back by itself when the XMPP server restarts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import type { ServerHandle } from '../../src/devgrid/types.js';

const CLI = join(process.cwd(), 'dist/src/cli/grid-controller.js');
let grid: DevGrid;
let secret: string;

before(async () => {
  grid = await startDevGrid({ nodes: ['soc1'], controller: false });
  secret = grid.cfg.xmpp.secret;
});
after(async () => {
  await grid?.stop();
});

function envFor(over: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GRID_XMPP_SERVICE: grid.cfg.xmpp.service, GRID_XMPP_DOMAIN: grid.cfg.xmpp.domain, GRID_XMPP_SECRET: secret,
    GRID_TRUST_CA: grid.pki.ca.cert, GRID_POLICIES: grid.cfg.policies, GRID_DATA: grid.cfg.data, ...over,
  };
}

function run(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [CLI, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const lines: ((l: string) => void)[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    for (const l of d.split('\n')) for (const f of lines) f(l);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  const line = (pred: (l: string) => boolean) => new Promise<string>((resolve, reject) => {
    for (const l of stdout.split('\n')) if (pred(l)) return resolve(l);
    lines.push((l) => pred(l) && resolve(l));
    void exited.then(() => reject(new Error(`exited before the line; stdout: ${stdout}\nstderr: ${stderr}`)));
  });
  return { child, exited, line, out: () => ({ stdout, stderr }) };
}

test('start joins the server, logs JSON, and stops cleanly on SIGTERM', async () => {
  const p = run(envFor());
  const online = JSON.parse(await p.line((l) => l.includes('component online')));
  assert.equal(online.domain, 'controller.grid.test');
  assert.ok(existsSync(join(grid.cfg.data, 'controller.lock')));
  p.child.kill('SIGTERM');
  const [code] = await p.exited;
  assert.equal(code, 0, p.out().stderr);
  assert.ok(!existsSync(join(grid.cfg.data, 'controller.lock')), 'the lock is released');
  assert.match(p.out().stdout, /controller stopped/);
});

test('a refused component secret: exit 1 with one clear line', async () => {
  const p = run(envFor({ GRID_XMPP_SECRET: 'wrong-secret' }));
  const [code] = await p.exited;
  assert.equal(code, 1);
  const errLines = p.out().stderr.trim().split('\n');
  assert.equal(errLines.length, 1, p.out().stderr);
  assert.match(errLines[0]!, /refused the component secret|not-authorized/);
});

test('invalid policy files: exit 1 naming file and line', async () => {
  const dir = join(grid.workDir, 'bad-policies');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '10-rules.yaml'), 'rules:\n  - id: r1\n    effect: maybe\n');
  const p = run(envFor({ GRID_POLICIES: dir }));
  const [code] = await p.exited;
  assert.equal(code, 1);
  assert.match(p.out().stderr, /10-rules\.yaml:3/);
});

test('a missing secret or a bad config key: exit 1 naming the key', async () => {
  const p = run(envFor({ GRID_XMPP_SECRET: '' , GRID_LIMITS_PAYLOAD_BYTES: 'lots' }));
  const [code] = await p.exited;
  assert.equal(code, 1);
  assert.match(p.out().stderr, /limits\.payload_bytes/);
});

test('the link comes back by itself when the XMPP server restarts', async () => {
  const ctl = await grid.startController();
  const ports = grid.server.ports;
  const offline = once(ctl.link, 'offline');
  await grid.server.stop();
  await offline;
  const back = once(ctl.link, 'online');
  let again: ServerHandle | undefined;
  try {
    again = await grid.profile.start({ componentSecret: secret, caFile: grid.pki.ca.cert, certFile: grid.pki.server.cert, keyFile: grid.pki.server.key, ports });
    await back;
    assert.equal(ctl.link.online, true);
  } finally {
    await grid.stopController();
    await again?.stop();
    // grid.stop() will stop the first (already stopped) server again: harmless.
  }
});

test('started before the XMPP server, it keeps retrying (a line per attempt) and joins once the server is up', async () => {
  const ports = grid.server.ports;
  await grid.server.stop(); // harmless when an earlier test stopped it already
  const p = run(envFor({ GRID_XMPP_RECONNECT_MAX_MS: '1000' }));
  const retries: { attempt: number; retry_in_ms: number }[] = [];
  await p.line((l) => {
    if (l.includes('XMPP server not reachable; retrying')) retries.push(JSON.parse(l));
    return retries.length >= 2;
  });
  assert.deepEqual(retries.map((r) => r.attempt), [1, 2], 'one line per attempt, numbered');
  assert.ok(retries.every((r) => r.retry_in_ms > 0 && r.retry_in_ms <= 1000), 'bounded by xmpp.reconnect_max_ms');
  let again: ServerHandle | undefined;
  try {
    again = await grid.profile.start({ componentSecret: secret, caFile: grid.pki.ca.cert, certFile: grid.pki.server.cert, keyFile: grid.pki.server.key, ports });
    const online = JSON.parse(await p.line((l) => l.includes('component online')));
    assert.equal(online.domain, 'controller.grid.test');
    p.child.kill('SIGTERM');
    const [code] = await p.exited;
    assert.equal(code, 0, p.out().stderr);
  } finally {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await again?.stop();
  }
});

test('SIGTERM while it waits for the XMPP server: stops at once with exit 0 and releases the lock', async () => {
  await grid.server.stop(); // no server: the controller is in its retry loop
  const p = run(envFor({ GRID_XMPP_RECONNECT_MAX_MS: '30000' }));
  await p.line((l) => l.includes('XMPP server not reachable; retrying'));
  const t0 = Date.now();
  p.child.kill('SIGTERM');
  const [code] = await p.exited;
  assert.equal(code, 0, p.out().stderr);
  assert.ok(Date.now() - t0 < 10_000, 'did not wait out the backoff');
  assert.ok(!existsSync(join(grid.cfg.data, 'controller.lock')), 'the lock is released');
});
