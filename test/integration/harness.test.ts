// The development grid's server (Prosody 0.12 or ejabberd 23.01, as GRID_TEST_SERVER says):
// certificate login (SASL EXTERNAL) over direct TLS and STARTTLS, refusal of a foreign CA,
// the XEP-0114 component link, and a clean stop. What differs between the servers (config
// text, a start failure's message) comes from src/devgrid/server-profile.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { component, xml } from '@xmpp/component';
import type { Component } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { createCa, issueNodeCert, writeDevPki } from '../../src/identity/devcerts.js';
import type { DevPkiPaths } from '../../src/identity/types.js';
import { profileOf } from '../../src/devgrid/server-profile.js';
import type { ServerHandle } from '../../src/devgrid/types.js';
import { connectNode, NodeConnectError, StanzaError } from '../../src/agent/connection.js';
import type { ConnectNodeOptions, NodeConnection } from '../../src/agent/types.js';

const DOMAIN = 'grid.test';
const CONTROLLER = `controller.${DOMAIN}`;
const NS_GRID = 'urn:xmpp-grid:0';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

let dir: string;
let pki: DevPkiPaths;
let rogue: { cert: string; key: string; caCert: string };
const profile = profileOf();
let prosody: ServerHandle | undefined;
const secret = randomBytes(18).toString('base64url');
const open: { close(): Promise<void> }[] = [];

function opts(node: string, transport: 'tls' | 'starttls' = 'tls'): ConnectNodeOptions {
  const p = prosody!;
  return {
    service: transport === 'tls' ? `xmpps://127.0.0.1:${p.ports.c2sTls}` : `xmpp://127.0.0.1:${p.ports.c2s}`,
    domain: DOMAIN,
    certFile: pki.nodes[node]!.cert,
    keyFile: pki.nodes[node]!.key,
    ca: readFileSync(pki.ca.cert, 'utf8'),
    timeoutMs: 8000,
  };
}

async function node(name: string, transport: 'tls' | 'starttls' = 'tls'): Promise<NodeConnection> {
  const conn = await connectNode(opts(name, transport));
  open.push(conn);
  return conn;
}

const bodyOf = (s: Element) => s.name === 'message' ? s.getChildText('body') : null;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'harness-test-'));
  pki = writeDevPki({ outDir: join(dir, 'pki'), domain: DOMAIN, nodes: ['node1', 'node2', 'node3', { name: 'ecnode', keyType: 'ec' }] });
  // A CA Prosody does not trust issues a certificate that claims node1's identity.
  const rogueCa = createCa({ O: 'Rogue', CN: 'Rogue Root' });
  const forged = issueNodeCert(rogueCa, { xmppAddr: `node1@${DOMAIN}`, CN: 'node1' });
  rogue = { cert: forged.certPem, key: forged.keyPem, caCert: rogueCa.certPem };
  prosody = await profile.start({
    domain: DOMAIN, componentSecret: secret,
    caFile: pki.ca.cert, certFile: pki.server.cert, keyFile: pki.server.key,
  });
});

after(async () => {
  for (const c of open) await c.close().catch(() => undefined);
  await prosody?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe(`start ${profile.name}`, () => {
  test('writes an owner-only config with the loopback listeners and certificate login', () => {
    const p = prosody!;
    assert.equal(statSync(p.configFile).mode & 0o077, 0, 'config holds the component secret');
    const cfg = readFileSync(p.configFile, 'utf8');
    for (const want of profile.configMarks(p)) {
      assert.ok(cfg.includes(want), `config lacks ${want}`);
    }
    assert.equal(p.componentJid, CONTROLLER);
    assert.equal(p.pubsubJid, `pubsub.${DOMAIN}`);
  });
});

describe(`start ${profile.name}: failures`, () => {
  test('a port taken by another process fails the start with the server\'s own log line', async () => {
    const holder = createServer().listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const taken = (holder.address() as AddressInfo).port;
    try {
      await assert.rejects(profile.start({
        domain: DOMAIN, componentSecret: secret, caFile: pki.ca.cert, certFile: pki.server.cert,
        keyFile: pki.server.key, ports: { c2s: taken }, pubsubComponent: false,
      }), profile.portTakenError(taken));
    } finally {
      holder.close();
    }
  });
});

describe('grid nodes log in with their certificate', () => {
  test('two nodes over direct TLS exchange messages via their bare JIDs', async () => {
    const [a, b] = await Promise.all([node('node1'), node('node2')]);
    assert.match(a.jid, /^node1@grid\.test\/.+/);
    assert.match(b.jid, /^node2@grid\.test\/.+/);
    await a.send(xml('message', { to: `node2@${DOMAIN}`, id: 'm1' }, xml('body', {}, 'ping from node1')));
    const got = await b.waitFor((s) => bodyOf(s) === 'ping from node1');
    assert.equal(got.attrs.from, a.jid, 'the server stamps the full JID of the sender');
    await b.send(xml('message', { to: got.attrs.from, id: 'm2' }, xml('body', {}, 'pong')));
    assert.equal((await a.waitFor((s) => bodyOf(s) === 'pong')).attrs.from, b.jid);
  });

  test('a node over STARTTLS logs in with its certificate on an encrypted socket', async () => {
    const [c, a] = await Promise.all([node('node3', 'starttls'), node('ecnode')]);
    assert.match(c.jid, /^node3@grid\.test\//);
    const tlsSocket = (c.xmpp.socket as { socket?: { encrypted?: boolean; getProtocol(): string | null } }).socket;
    assert.equal(tlsSocket?.encrypted, true);
    assert.match(tlsSocket?.getProtocol() ?? '', /^TLSv1\.[23]$/);
    await c.send(xml('message', { to: `ecnode@${DOMAIN}` }, xml('body', {}, 'over starttls')));
    assert.equal((await a.waitFor((s) => bodyOf(s) === 'over starttls')).attrs.from, c.jid);
  });

  test("the server's own pubsub service answers disco#info", async () => {
    const n = await node('node1');
    const info = await n.iq(xml('iq', { type: 'get', to: `pubsub.${DOMAIN}` }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    const identity = info.getChild('query')?.getChild('identity');
    assert.deepEqual([identity?.attrs.category, identity?.attrs.type], ['pubsub', 'service']);
  });

  test('a certificate from a CA the server does not trust is refused at SASL', async () => {
    const err = await connectNode({ ...opts('node1'), certFile: undefined, keyFile: undefined, cert: rogue.cert, key: rogue.key })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof NodeConnectError, `expected NodeConnectError, got ${String(err)}`);
    assert.equal(err.failure, 'sasl');
    // mod_auth_ccert answers an unverifiable chain with account-disabled, not not-authorized.
    assert.ok(['account-disabled', 'not-authorized'].includes(err.condition ?? ''), err.message);
  });

  test('a server certificate from a CA the node does not trust fails the TLS handshake', async () => {
    const err = await connectNode({ ...opts('node1'), ca: rogue.caCert }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof NodeConnectError, `expected NodeConnectError, got ${String(err)}`);
    assert.equal(err.failure, 'tls');
  });
});

describe('the controller component link (XEP-0114)', () => {
  let comp: Component | undefined;
  // @xmpp/component reconnects on every disconnect until its reconnect module is stopped;
  // stop() alone leaves that loop running once the server is gone.
  const shutdown = async (c: Component) => { c.reconnect.stop(); await c.stop().catch(() => undefined); };
  after(async () => { if (comp) await shutdown(comp); });

  test('a wrong secret is refused', async () => {
    const bad = component({ service: `xmpp://127.0.0.1:${prosody!.ports.component}`, domain: CONTROLLER, password: 'not-the-secret' });
    const failed = new Promise<Error>((resolve) => bad.on('error', resolve));
    bad.start().catch(() => undefined);
    const err = await failed;
    assert.match(String((err as { condition?: string }).condition ?? err.message), /not-authorized/);
    await shutdown(bad);
  });

  test('comes online, sees the node full JID in from, and its errors reach the node typed', async () => {
    comp = component({ service: `xmpp://127.0.0.1:${prosody!.ports.component}`, domain: CONTROLLER, password: secret });
    comp.on('error', () => undefined);
    const received: Element[] = [];
    comp.on('stanza', (s) => received.push(s));
    const onlineJid = await comp.start();
    assert.equal(onlineJid.toString(), CONTROLLER);
    comp.iqCallee.get(NS_GRID, 'status', () =>
      xml('error', { type: 'auth' }, xml('forbidden', { xmlns: NS_STANZAS }),
        xml('text', { xmlns: NS_STANZAS }, 'waiting for approval'), xml('account-pending', { xmlns: NS_GRID })));

    const n = await node('node2');
    const gotMessage = new Promise<Element>((resolve) => comp!.on('stanza', (s) => s.name === 'message' && resolve(s)));
    await n.send(xml('message', { to: CONTROLLER, id: 'c1' }, xml('body', {}, 'to the controller')));
    const msg = await gotMessage;
    assert.equal(msg.attrs.from, n.jid);
    assert.equal(msg.getChildText('body'), 'to the controller');

    const err = await n.iq(xml('iq', { type: 'get', to: CONTROLLER }, xml('status', { xmlns: NS_GRID })))
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof StanzaError, `expected StanzaError, got ${String(err)}`);
    assert.deepEqual([err.type, err.condition, err.appCondition?.name, err.appCondition?.xmlns, err.text],
      ['auth', 'forbidden', 'account-pending', NS_GRID, 'waiting for approval']);
  });
});

describe('stop', () => {
  test('ends the server process and removes its temp dir', async () => {
    const p = prosody!;
    for (const c of open.splice(0)) await c.close();
    await p.stop();
    prosody = undefined;
    assert.throws(() => process.kill(p.pid, 0), { code: 'ESRCH' });
    assert.equal(existsSync(p.dataDir), false);
  });
});
