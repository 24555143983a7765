// Where Prosody and ejabberd differ in ways a grid feels, on whichever server GRID_TEST_SERVER
// names, each against the fact its server profile states (src/devgrid/server-profile.ts):
// what a node gets back while the controller is down, and what a CA-signed certificate
// without an xmppAddr can do (ejabberd lets it log in as any JID; it must still get no
// administrator command).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import { NodeConnectError } from '../../src/agent/connection.js';
import { toGridError } from '../../src/agent/errors.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { CTL, id, refusal, register } from '../helpers/grid-client.js';

const CMD = 'http://jabber.org/protocol/commands';
let grid: DevGrid;
const open: NodeConnection[] = [];

before(async () => {
  grid = await startDevGrid({ nodes: [{ name: 'soc1', OU: 'soc' }, { name: 'wildcard', allowNoXmppAddr: true, OU: 'soc' }] });
});
after(async () => {
  for (const c of open) await c.close().catch(() => {});
  await grid?.stop();
});

async function connect(name: string, authzid?: string): Promise<NodeConnection> {
  const c = await grid.connect(name, authzid ? { authzid } : {});
  open.push(c);
  return c;
}

const ping = () => xml('iq', { type: 'get', to: CTL, id: id('p') }, xml('ping', { xmlns: 'urn:xmpp:ping' }));
const runCommand = (node: string) => xml('iq', { type: 'set', to: CTL, id: id('cmd') }, xml('command', { xmlns: CMD, node, action: 'execute' }));

test('while the controller is down, the server\'s bounce is recognised as "unavailable", not as a refusal', async () => {
  const c = await connect('soc1');
  await c.iq(ping());
  await grid.stopController();
  const e = await refusal(c.iq(ping()));
  const expected = grid.profile.controllerDown;
  assert.deepEqual([e.type, e.condition, e.text?.trim()], [expected.type, expected.condition, expected.text], `${grid.profile.name}'s bounce`);
  const g = toGridError(e, { operation: 'ping' });
  assert.equal(g.kind, 'unavailable');
  assert.match(g.message, /controller is not connected/);
  await grid.startController();
  const back = await c.iq(ping());
  assert.equal(back.attrs.type, 'result', 'the controller answers again once it is back');
});

test('a certificate without an xmppAddr gets no administrator command, whatever JID the server lets it use', async () => {
  const admin = 'admin@grid.test'; // named in the shipped policies/00-groups.yaml
  assert.ok(grid.controller!.policy.current().admins.includes(admin));
  const login = await grid.connect('wildcard', { authzid: admin }).then((c) => { open.push(c); return c; }, (e: unknown) => e);
  if (!grid.profile.acceptsCertWithoutXmppAddr) {
    assert.ok(login instanceof NodeConnectError, `${grid.profile.name} refuses the login: got ${String(login)}`);
    assert.equal(login.failure, 'sasl');
    return;
  }
  assert.ok(!(login instanceof Error), `${grid.profile.name} lets it in: ${String(login)}`);
  const c = login as NodeConnection;
  assert.match(c.jid, /^admin@grid\.test\//, `${grid.profile.name} logs it in as the authzid`);
  const e = await refusal(c.iq(runCommand('urn:xmpp-grid:0#accounts')));
  assert.deepEqual([e.type, e.condition], ['auth', 'forbidden']);
  assert.match(e.text ?? '', /holds no approved account/);
  // Nor can it make itself the administrator's account: the registration needs the xmppAddr.
  const r = await refusal(register(c, grid.pki.nodes.wildcard!, { deviceType: 'console' }));
  assert.equal(r.type, 'auth');
  assert.equal(grid.controller!.accounts.get(admin), undefined);
  const again = await refusal(c.iq(runCommand('urn:xmpp-grid:0#revoke')));
  assert.equal(again.condition, 'forbidden');
});
