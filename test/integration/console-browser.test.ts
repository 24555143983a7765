// The web console in a real browser: a real Prosody grid with the HTTPS server, headless Debian
// chromium driven by puppeteer-core (no browser download), logged in with an administrator's
// HTTP Basic token. Every page is opened and photographed into test/artifacts/ (git-ignored,
// kept by CI); the approve button of a pending node is clicked and the node is then told
// <account status='approved'/>, decided by admin:<jid>. Before that, the refusals are checked
// without a browser: no credentials (401), a non-admin (403), a POST from another origin or
// without the session's token (403, nothing decided).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { CTL, NS_GRID, enrolAdmin, id, isAccountMessage, register } from '../helpers/grid-client.js';
import { httpsClient } from '../helpers/https-client.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test/artifacts');
const PS = 'http://jabber.org/protocol/pubsub';
const T = 'threat-intel/indicators';
/** What a node may put in its registration's free-text fields: it must stay text on every page. */
const EVIL = `<img src=x onerror="alert('device')"><script>alert('desc')</script>`;

let grid: DevGrid;
let base: string;
let adminToken: string;
let socToken: string;
let browser: Browser | undefined;
let page: Page;
let profile: string;
const dialogs: string[] = [];
const nodes: Record<string, NodeConnection> = {};

const iq = (child: Element) => xml('iq', { type: 'set', to: CTL, id: id('cb') }, child);
const field = (v: string, ...values: string[]) => xml('field', { var: v }, ...values.map((x) => xml('value', {}, x)));
const bundle = JSON.stringify({
  type: 'bundle', id: 'bundle--6f1d7c6e-3b65-4a2c-9a43-000000000001',
  objects: [{
    type: 'indicator', spec_version: '2.1', id: 'indicator--6b1e8f4c-3c2a-4d7e-9f10-000000000001',
    created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', name: 'console 1', x_location: 'EU',
    pattern: "[domain-name:value = 'console-1.example']", pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z',
  }],
});

before(async () => {
  grid = await startDevGrid({
    nodes: [{ name: 'admin', OU: 'ops' }, { name: 'sandbox', OU: 'malware-lab' }, { name: 'soc1', OU: 'soc' }, { name: 'partner1', OU: 'partners' }, { name: 'partner2', OU: 'partners' }],
    taxii: { basic: true },
  });
  for (const n of ['admin', 'sandbox', 'soc1', 'partner1', 'partner2']) nodes[n] = await grid.connect(n);
  await enrolAdmin(nodes.admin!, grid.pki.nodes.admin!, grid.controller!.accounts);
  await register(nodes.sandbox!, grid.pki.nodes.sandbox!, { deviceType: 'sandbox', groups: ['providers'] });
  const socApproved = nodes.soc1!.waitFor(isAccountMessage('approved'));
  await register(nodes.soc1!, grid.pki.nodes.soc1!, { deviceType: 'siem' });
  await socApproved;
  await register(nodes.partner1!, grid.pki.nodes.partner1!, { deviceType: EVIL, description: EVIL, groups: ['partners'] });
  await register(nodes.partner2!, grid.pki.nodes.partner2!, { deviceType: 'tip', groups: ['partners'] });
  assert.equal(grid.controller!.accounts.get('partner1@grid.test')?.status, 'pending');
  // A filtered subscription (a subtopic) and one published item, so the topics page has numbers.
  await nodes.soc1!.iq(iq(xml('pubsub', { xmlns: PS }, xml('subscribe', { node: T, jid: nodes.soc1!.jid }),
    xml('options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      field('FORM_TYPE', 'http://jabber.org/protocol/pubsub#subscribe_options'), field('{urn:xmpp-grid:0}filter.location', 'EU'))))));
  const delivered = nodes.soc1!.waitFor((s) => s.getChild('event', `${PS}#event`)?.getChild('items')?.getChild('item')?.attrs.id === 'console-1');
  await nodes.sandbox!.iq(iq(xml('pubsub', { xmlns: PS }, xml('publish', { node: T }, xml('item', { id: 'console-1' }, xml('json', { xmlns: 'urn:xmpp:json:0' }, bundle))))));
  await delivered;

  const token = async (jid: string) => {
    const r = await grid.controller!.accounts.issueToken(jid, 'test');
    assert.ok('ok' in r);
    return r.value;
  };
  adminToken = await token('admin@grid.test');
  socToken = await token('soc1@grid.test');
  base = grid.controller!.https!.url;
  mkdirSync(ARTIFACTS, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'console-chromium-'));
});

after(async () => {
  await browser?.close().catch(() => {});
  for (const c of Object.values(nodes)) await c.close().catch(() => {});
  await grid?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const client = () => httpsClient({ base, ca: readFileSync(grid.pki.ca.cert, 'utf8') });
const basic = (user: string, password: string) => ({ user, password });

test('without credentials 401 with the Basic challenge; a node that is not an admin 403', async () => {
  const get = client();
  const none = await get('/admin/nodes');
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Basic realm="xmpp-grid"');
  assert.match(String(none.headers['content-type']), /^text\/html/);
  const soc = await get('/admin/nodes', { basic: basic('soc1@grid.test', socToken) });
  assert.equal(soc.status, 403);
  assert.match(soc.text, /only administrators named in the policy/);
  const wrong = await get('/admin/', { basic: basic('admin@grid.test', `${adminToken}x`) });
  assert.equal(wrong.status, 401);
  const ok = await get('/admin/', { basic: basic('admin@grid.test', adminToken) });
  assert.equal(ok.status, 200);
  assert.match(String(ok.headers['content-security-policy']), /default-src 'none'/);
  // The other way in: the admin's own client certificate; a non-admin's certificate is 403.
  const pem = (n: string) => ({ certPem: readFileSync(grid.pki.nodes[n]!.cert, 'utf8'), keyPem: readFileSync(grid.pki.nodes[n]!.key, 'utf8') });
  const byCert = await get('/admin/nodes', { cert: pem('admin') });
  assert.equal(byCert.status, 200);
  assert.match(byCert.text, /<span class="who">admin@grid\.test<\/span>/);
  assert.equal((await get('/admin/nodes', { cert: pem('soc1') })).status, 403);
});

test('a POST from another site, or without the session token, decides nothing; with them, deny is done', async () => {
  const get = client();
  const auth = { basic: basic('admin@grid.test', adminToken) };
  const pending = await get('/admin/pending', auth);
  assert.equal(pending.status, 200);
  const cookie = String(pending.headers['set-cookie']).split(';')[0]!;
  assert.match(String(pending.headers['set-cookie']), /HttpOnly; Secure; SameSite=Strict/i);
  const csrf = /name="csrf" value="([^"]+)"/.exec(pending.text)![1]!;
  const post = (headers: Record<string, string>, body: string) =>
    get('/admin/accounts/approve', { ...auth, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  const form = new URLSearchParams({ jid: 'partner1@grid.test', csrf }).toString();
  const origin = base;
  const cases = [
    ['another site', await post({ origin: 'https://evil.example', cookie }, form)],
    ['no Origin', await post({ cookie }, form)],
    ['no session cookie', await post({ origin }, form)],
    ['a made-up token', await post({ origin, cookie }, new URLSearchParams({ jid: 'partner1@grid.test', csrf: 'x'.repeat(43) }).toString())],
  ] as const;
  for (const [what, r] of cases) assert.equal(r.status, 403, what);
  assert.equal(grid.controller!.accounts.get('partner1@grid.test')?.status, 'pending', 'still pending');
  const refused = grid.controller!.ops.audit.recent().filter((e) => e.event === 'admin-command' && e.fields.result === 'refused' && e.fields.command === 'console:approve');
  assert.equal(refused.length, 4, 'each refusal audited');

  // The same form with its cookie, token and this server's Origin: deny is done and the node told.
  const denied = nodes.partner2!.waitFor(isAccountMessage('denied'));
  const done = await get('/admin/accounts/deny', { ...auth, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin, cookie }, body: new URLSearchParams({ jid: 'partner2@grid.test', csrf }).toString() });
  assert.equal(done.status, 200, done.text);
  assert.match(done.text, /<p class="ok" id="result">denied partner2@grid\.test<\/p>/);
  await denied;
  assert.equal(grid.controller!.accounts.get('partner2@grid.test')?.decidedBy, 'admin:admin@grid.test');
});

async function open(path: string, shot: string): Promise<string> {
  const res = await page.goto(`${base}/admin/${path}`, { waitUntil: 'load' });
  assert.equal(res?.status(), 200, path);
  await page.screenshot({ path: join(ARTIFACTS, `console-${shot}.png`), fullPage: true });
  return page.$eval('main', (m) => (m as HTMLElement).innerText);
}

test('every page in chromium, photographed; approve on a pending node: the node is told approved', async () => {
  browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true, userDataDir: profile, acceptInsecureCerts: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'],
  });
  page = await browser.newPage();
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.authenticate({ username: 'admin@grid.test', password: adminToken });
  await page.setViewport({ width: 1280, height: 900 });

  // A rejected reload, so the policy page has an error to show (the old policy stays).
  writeFileSync(join(grid.policiesDir, '99-broken.yaml'), 'rules:\n  - id: broken\n    effect: maybe\n# end\n');
  const reload = await grid.controller!.policy.reloadNow();
  assert.equal(reload.ok, false);

  const overview = await open('', 'overview');
  assert.match(overview, /1 pending, 3 approved, 1 denied/);
  assert.match(overview, /XMPP link\s+up/);
  assert.ok(overview.includes(`TAXII\t${base}`), 'the status report names the HTTPS server');
  const nodesText = await open('nodes', 'nodes');
  for (const jid of ['admin@grid.test', 'sandbox@grid.test', 'soc1@grid.test', 'partner1@grid.test']) assert.ok(nodesText.includes(jid), jid);
  assert.ok(nodesText.includes(EVIL), 'the device type is shown as the text it is');
  const pendingText = await open('pending', 'pending');
  assert.ok(pendingText.includes('partner1@grid.test'));
  assert.match(pendingText, /OU=partners/);
  const topicsText = await open('topics', 'topics');
  assert.match(topicsText, /threat-intel\/indicators/);
  assert.match(topicsText, /location = EU\s+1 subscribers/);
  assert.equal(await page.$eval(`tr[data-topic="${T}"] td:nth-child(5)`, (td) => (td as HTMLElement).innerText.trim()), '1 / 1000');
  assert.equal(await page.$eval(`tr[data-topic="${T}"] td:nth-child(6)`, (td) => (td as HTMLElement).innerText.trim()), '1', 'one item in the last hour');
  const policyText = await open('policy', 'policy');
  assert.match(policyText, /digest\s+sha256:[0-9a-f]{64}/);
  assert.match(policyText, /rejected/);
  assert.match(policyText, /99-broken\.yaml/);

  await page.goto(`${base}/admin/pending`, { waitUntil: 'load' });
  const approved = nodes.partner1!.waitFor(isAccountMessage('approved'));
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('tr[data-jid="partner1@grid.test"] button.approve')]);
  await page.screenshot({ path: join(ARTIFACTS, 'console-approved.png'), fullPage: true });
  assert.equal(await page.$eval('#result', (p) => (p as HTMLElement).innerText), 'approved partner1@grid.test; groups: partners');
  const m = await approved;
  assert.equal(m.getChild('account', NS_GRID)?.attrs.status, 'approved');
  const a = grid.controller!.accounts.get('partner1@grid.test')!;
  assert.deepEqual([a.status, a.decidedBy, a.groups], ['approved', 'admin:admin@grid.test', ['partners']]);

  const auditText = await open('audit', 'audit');
  assert.match(auditText, /account-change\s+partner1@grid\.test\s+.*"to":"approved".*"by":"admin:admin@grid\.test"/);
  assert.match(auditText, /admin-command\s+admin@grid\.test\s+.*"command":"console:approve","result":"permitted"/);
  assert.deepEqual(dialogs, [], 'no script from a node ran');
});
