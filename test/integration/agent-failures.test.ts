// Failures a node meets on a real grid, each reaching the program as a GridError and the
// person as one actionable line: transport mistakes (issue 11: wrong port, CA, domain,
// controller, an untrusted certificate) and a stopped controller with many requests in
// flight, which must not end the host process (issue 16 item 5).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import { GridClient, GridError } from '../../src/agent/index.js';
import { writeDevPki } from '../../src/identity/devcerts.js';
import type { DevPkiPaths } from '../../src/identity/types.js';

const CHILD = new URL('../helpers/agent-burst-child.js', import.meta.url).pathname;
const CLI = join(process.cwd(), 'dist/src/agent/cli/grid-node.js');
let grid: DevGrid;
let other: DevPkiPaths;
let otherDir: string;

before(async () => {
  grid = await startDevGrid({ nodes: [{ name: 'sandbox1', OU: 'malware-lab' }] });
  otherDir = mkdtempSync(join(tmpdir(), 'grid-other-pki-'));
  other = writeDevPki({ outDir: otherDir, domain: 'grid.test', nodes: [{ name: 'sandbox1', OU: 'malware-lab' }] });
});
after(async () => {
  await grid?.stop();
  if (otherDir) rmSync(otherDir, { recursive: true, force: true });
});

function runChild(args: string[], cmd = CHILD): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

function nodeFlags(o: { service?: string; domain?: string; cert?: string; key?: string; ca?: string } = {}): string[] {
  const n = grid.pki.nodes.sandbox1!;
  return ['--service', o.service ?? `xmpps://127.0.0.1:${grid.prosody.ports.c2sTls}`, '--domain', o.domain ?? 'grid.test',
    '--cert', o.cert ?? n.cert, '--key', o.key ?? n.key, '--ca', o.ca ?? grid.pki.ca.cert];
}

/** `grid-node status` must fail with exit 1 and exactly one stderr line: the hint, then the raw reason. */
async function oneLineFailure(args: string[], hint: RegExp, raw: RegExp): Promise<void> {
  const r = await runChild(['status', ...args], CLI);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^grid-node: /);
  assert.match(lines[0]!, hint);
  assert.match(lines[0]!, raw);
  assert.equal(r.stdout, '');
}

test('grid-node: xmpp:// on the direct-TLS port is one line naming --service, not an ECONNRESET stack trace', async () => {
  await oneLineFailure(nodeFlags({ service: `xmpp://127.0.0.1:${grid.prosody.ports.c2sTls}` }), /port in --service speaks another protocol: use xmpps:\/\//, grid.profile.transportReasons.plainOnTlsPort);
  await oneLineFailure(nodeFlags({ service: `xmpps://127.0.0.1:${grid.prosody.ports.c2s}` }), /port in --service speaks another protocol/, /wrong version number/);
});

test('grid-node: wrong --ca, untrusted --cert, wrong --domain, wrong --controller: the likely cause and the flag, then the raw reason', async () => {
  await oneLineFailure(nodeFlags({ ca: other.ca.cert }), /does not verify against the CA in --ca/, /self-signed certificate in certificate chain/);
  const o = other.nodes.sandbox1!;
  await oneLineFailure(nodeFlags({ cert: o.cert, key: o.key }), /does not accept this node's certificate \(--cert, --key\)/, grid.profile.transportReasons.untrustedCert);
  await oneLineFailure(nodeFlags({ domain: 'grid.example' }), /does not serve the domain in --domain/, grid.profile.transportReasons.wrongDomain);
  await oneLineFailure([...nodeFlags(), '--controller', 'controller.elsewhere.test'], grid.profile.transportReasons.wrongControllerHint, grid.profile.transportReasons.wrongController);
});

test('a payload over the advertised limit is refused before sending, naming the limit; the stream stays up', async () => {
  const n = grid.pki.nodes.sandbox1!;
  const c = await GridClient.connect({ service: `xmpps://127.0.0.1:${grid.prosody.ports.c2sTls}`, domain: 'grid.test', certFile: n.cert, keyFile: n.key, ca: readFileSync(grid.pki.ca.cert, 'utf8') });
  try {
    // XEP-0128 form urn:xmpp-grid:0#limits on the controller's disco#info
    assert.deepEqual(await c.limits(), { payloadBytes: grid.cfg.limits.payload_bytes });
    const big = { type: 'bundle', id: 'bundle--5d0092c5-5f74-4287-9642-33f4c354e56d', objects: [{ type: 'note', id: 'note--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', spec_version: '2.1', content: 'x'.repeat(300 * 1024) }] };
    const t0 = Date.now();
    const err = await c.publish('threat-intel/indicators', big).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof GridError, String(err));
    assert.equal(err.condition, 'payload-too-big');
    assert.match(err.message, new RegExp(`over the grid's limit of ${grid.cfg.limits.payload_bytes} bytes`));
    assert.ok(Date.now() - t0 < 5000, 'refused at once, not after a timeout');
    // nothing was sent: the server did not close the stream, the node goes on
    assert.equal((await c.status()).registered, false);
  } finally {
    await c.close();
  }
});

test('50 concurrent requests against a stopped controller: each fails as a GridError, the process survives', async () => {
  await grid.stopController();
  const n = grid.pki.nodes.sandbox1!;
  const opts = { service: `xmpps://127.0.0.1:${grid.prosody.ports.c2sTls}`, domain: 'grid.test', certFile: n.cert, keyFile: n.key, ca: readFileSync(grid.pki.ca.cert, 'utf8'), requestTimeoutMs: 20_000 };
  const r = await runChild([JSON.stringify(opts), '50']);
  assert.equal(r.code, 0, `the node program died: ${r.signal ?? ''} ${r.stderr}`);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { requests: number; fulfilled: number; gridErrors: number; conditions: string[] };
  assert.equal(summary.requests, 50);
  assert.equal(summary.fulfilled, 0);
  assert.equal(summary.gridErrors, 50, 'every failure reached its caller as a GridError');
  assert.ok(!summary.conditions.includes('timeout'), `the server's error replies, not timeouts: ${summary.conditions.join(', ')}`);
  // and the command says what it means
  // The raw reason is the server's own bounce (server-profile.ts): Prosody's remote-server-timeout
  // + not-connected, ejabberd's forbidden "Access denied by service policy".
  const down = grid.profile.controllerDown;
  const raw = `${down.condition}${down.appCondition ? ` + ${down.appCondition.name}` : ''}: ${down.text}`;
  await oneLineFailure(nodeFlags(), /the controller is not connected to the XMPP server/, new RegExp(raw.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
});
