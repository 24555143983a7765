// A node program keeps running when the controller is down (issue 16 item 5): the server's
// immediate error replies to many requests in flight must each reach their caller as a
// GridError, never as an unhandled rejection that ends the host process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';

const CHILD = new URL('../helpers/agent-burst-child.js', import.meta.url).pathname;
let grid: DevGrid;

before(async () => {
  grid = await startDevGrid({ nodes: [{ name: 'sandbox1', OU: 'malware-lab' }] });
});
after(async () => { await grid?.stop(); });

function runChild(args: string[]): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

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
});
