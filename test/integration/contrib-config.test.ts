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

test('a certificate from another CA cannot log in', async () => {
  const other = writeDevPki({ outDir: elsewhere, domain: 'grid.test', nodes: [{ name: 'soc2', OU: 'soc' }] });
  const refused = connectNode({
    service: `xmpps://127.0.0.1:${grid.server.ports.c2sTls}`, domain: 'grid.test',
    certFile: other.nodes.soc2!.cert, keyFile: other.nodes.soc2!.key, ca: readFileSync(grid.pki.ca.cert, 'utf8'),
  });
  // The server's certificate is trusted: what fails is the node's, at SASL EXTERNAL.
  await assert.rejects(refused, /refused the certificate login: SASL EXTERNAL failed/);
});
