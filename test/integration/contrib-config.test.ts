// The server-side snippets operators are given (contrib/prosody-grid.cfg.lua,
// contrib/ejabberd-grid.yml) are configs that work: the XMPP server of this run
// ($GRID_TEST_SERVER, so each server's snippet on each run) starts from its snippet, with only
// placeholders replaced and the base an operator's own config has (src/devgrid/contrib-config.ts),
// and the grid works on it: the controller joins, a node logs in with its certificate and is
// approved, XEP-0033 is offered to the controller, a certificate of another CA is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import { writeDevPki } from '../../src/identity/devcerts.js';
import { connectNode } from '../../src/agent/connection.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { isAccountMessage, register } from '../helpers/grid-client.js';
import { xml } from '@xmpp/component';

let grid: DevGrid;
let soc1: NodeConnection | undefined;
let elsewhere: string;

before(async () => {
  grid = await startDevGrid({ nodes: [{ name: 'soc1', OU: 'soc' }], serverConfig: 'contrib' });
  elsewhere = mkdtempSync(join(tmpdir(), 'contrib-other-ca-'));
});
after(async () => {
  await soc1?.close().catch(() => {});
  await grid?.stop();
  rmSync(elsewhere, { recursive: true, force: true });
});

test('the server runs on the contrib snippet itself', () => {
  const text = readFileSync(grid.server.configFile, 'utf8');
  const snippet = grid.server.kind === 'prosody' ? 'authentication = "ccert"' : 'disable_sasl_mechanisms:';
  assert.match(text, /contrib-config\.ts/);
  assert.ok(text.includes(snippet), snippet);
  const settings = text.split('\n').map((l) => l.replace(/\s*(--|#).*$/, '')).join('\n');
  for (const placeholder of ['grid.example', 'CHANGE-ME', '/etc/']) assert.ok(!settings.includes(placeholder), `${placeholder} replaced`);
});

test('the controller joins; a node logs in with its certificate and is approved; XEP-0033 is offered', async () => {
  assert.ok(grid.controller!.link.online);
  soc1 = await grid.connect('soc1');
  assert.equal(soc1.jid.split('/')[0], 'soc1@grid.test', 'the JID comes from the certificate');
  const approved = soc1.waitFor(isAccountMessage('approved'));
  await register(soc1, grid.pki.nodes.soc1!, { deviceType: 'siem' });
  await approved;
  assert.equal(grid.controller!.accounts.get('soc1@grid.test')?.status, 'approved');
  assert.equal(await grid.controller!.multicast.whenKnown('grid.test'), true);
});

test('the snippet\'s per-connection read limit is in force: 4.8 MB from one node take as long as its rate says', async () => {
  const c = soc1 ?? (soc1 = await grid.connect('soc1'));
  const body = 'x'.repeat(200_000);
  const n = 24;
  let back = 0;
  const all = new Promise<void>((resolve) => c.on('stanza', (s: { name: string; attrs: Record<string, string> }) => {
    if (s.name === 'message' && s.attrs.id?.startsWith('bulk-') && ++back === n) resolve();
  }));
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await c.send(xml('message', { to: c.jid, id: `bulk-${i}` }, xml('body', {}, body)));
  await all;
  const ms = Date.now() - t0;
  // The snippets' rate: 512,000 B/s (Prosody: "512kb/s", no burst with epoll) or 524,288 B/s
  // after a 1 MiB burst (ejabberd): 9.4 s or 7.2 s at least; 80 % of it is asserted. Without a
  // limit this machine (2 loaded CPUs) echoes it in about 4.5 s.
  const ideal = grid.server.kind === 'prosody' ? (n * 200_000) / 512_000 : (n * 200_000 - 1_048_576) / 524_288;
  assert.ok(ms >= 0.8 * ideal * 1000, `4.8 MB echoed in ${ms} ms, under 80 % of ${ideal.toFixed(1)} s: the c2s limit is not applied`);
  console.log(`# 4.8 MB through the c2s limit in ${ms} ms (the rate alone: ${ideal.toFixed(1)} s)`);
});

test('a certificate from another CA cannot log in', async () => {
  const other = writeDevPki({ outDir: elsewhere, domain: 'grid.test', nodes: [{ name: 'soc2', OU: 'soc' }] });
  const refused = connectNode({
    service: `xmpps://127.0.0.1:${grid.server.ports.c2sTls}`, domain: 'grid.test',
    certFile: other.nodes.soc2!.cert, keyFile: other.nodes.soc2!.key, ca: readFileSync(grid.pki.ca.cert, 'utf8'),
  });
  // The server's certificate is trusted: what fails is the node's, at SASL EXTERNAL.
  await assert.rejects(refused, /refused the certificate login: SASL EXTERNAL failed/);
});
