import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, requireSecret, DEFAULTS } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/types.js';

const dir = mkdtempSync(join(tmpdir(), 'grid-config-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('every key has a default; relative paths resolve against the base folder', () => {
  const cfg = loadConfig({ env: {}, baseDir: '/srv/grid' });
  assert.equal(cfg.xmpp.service, DEFAULTS.xmpp.service);
  assert.equal(cfg.xmpp.domain, 'controller.grid.test');
  assert.equal(cfg.limits.payload_bytes, 262144);
  assert.equal(cfg.policies, '/srv/grid/policies');
  assert.deepEqual(cfg.trust.ca, ['/srv/grid/certs-dev/out/ca.crt']);
  assert.equal(cfg.admin.socket, '/srv/grid/var/admin.sock');
});

test('YAML file values, resolved against the file folder', () => {
  const p = file('a.yaml', 'xmpp:\n  domain: ctl.example.org\ntrust:\n  ca: [pki/ca.pem]\n  identity: xmppaddr-or-cn\ndata: state/\n');
  const cfg = loadConfig({ file: p, env: {} });
  assert.equal(cfg.xmpp.domain, 'ctl.example.org');
  assert.deepEqual(cfg.trust.ca, [join(dir, 'pki/ca.pem')]);
  assert.equal(cfg.trust.identity, 'xmppaddr-or-cn');
  assert.equal(cfg.data, join(dir, 'state'));
});

test('JSON file and GRID_<SECTION>_<KEY> overrides', () => {
  const p = file('b.json', JSON.stringify({ xmpp: { secret: 'from-file' }, limits: { payload_bytes: 1000 } }));
  const cfg = loadConfig({ file: p, env: { GRID_XMPP_SECRET: 's3cret', GRID_LIMITS_PAYLOAD_BYTES: '2048', GRID_TRUST_CRL: 'a.crl,b.crl', GRID_POLICIES: '/etc/grid/policies' } });
  assert.equal(cfg.xmpp.secret, 's3cret');
  assert.equal(cfg.limits.payload_bytes, 2048);
  assert.deepEqual(cfg.trust.crl, [join(dir, 'a.crl'), join(dir, 'b.crl')]);
  assert.equal(cfg.policies, '/etc/grid/policies');
});

const bad: [string, string, RegExp][] = [
  ['unknown section', 'xmmp:\n  domain: x\n', /config xmmp: unknown key/],
  ['unknown key', 'xmpp:\n  domian: x\n', /config xmpp\.domian: unknown key/],
  ['wrong type', 'limits:\n  payload_bytes: lots\n', /config limits\.payload_bytes: must be a positive integer/],
  ['bad identity mode', 'trust:\n  identity: cn\n', /config trust\.identity: must be "xmppaddr" or "xmppaddr-or-cn"/],
  ['section not a mapping', 'xmpp: 5\n', /config xmpp: must be a mapping/],
  ['bad yaml', 'xmpp: [\n', /is not valid YAML/],
];
for (const [name, text, re] of bad) {
  test(`invalid config names the key: ${name}`, () => {
    const p = file(`${name.replace(/\W/g, '_')}.yaml`, text);
    assert.throws(() => loadConfig({ file: p, env: {} }), (e: unknown) => e instanceof ConfigError && re.test(e.message));
  });
}

test('a bad environment value names the key too', () => {
  assert.throws(() => loadConfig({ env: { GRID_LIMITS_PAYLOAD_BYTES: '-1' } }), /limits\.payload_bytes/);
});

test('the controller refuses to start without a secret', () => {
  assert.throws(() => requireSecret(loadConfig({ env: {} })), /xmpp\.secret: is empty: set GRID_XMPP_SECRET/);
});

test('limits.*: the caps have defaults, take GRID_LIMITS_* and refuse a filter cap that could not fit an answer', () => {
  const cfg = loadConfig({ env: {} });
  assert.deepEqual(
    [cfg.limits.subscriptions_per_account, cfg.limits.subtopics_per_topic, cfg.limits.topics_per_account, cfg.limits.max_items, cfg.limits.filter_values, cfg.limits.filter_bytes],
    [1000, 1000, 100, 10000, 256, 16384],
  );
  assert.equal(loadConfig({ env: { GRID_LIMITS_SUBTOPICS_PER_TOPIC: '3000' } }).limits.subtopics_per_topic, 3000);
  assert.throws(() => loadConfig({ env: { GRID_LIMITS_FILTER_BYTES: '200000' } }), /config limits\.filter_bytes: must be at most a quarter of limits\.stanza_bytes \(122880\)/);
  assert.throws(() => loadConfig({ env: { GRID_LIMITS_MAX_ITEMS: '0' } }), /limits\.max_items: must be a positive integer/);
});

test('store.kind: files by default; postgres takes store.url (or GRID_STORE_URL) and refuses to start without one', () => {
  const d = loadConfig({ env: {} });
  assert.equal(d.store.kind, 'files');
  assert.equal(d.store.url, '');
  assert.equal(d.store.journal_fold_bytes, 1024 * 1024);
  const pg = loadConfig({ env: { GRID_STORE_KIND: 'postgres', GRID_STORE_URL: 'postgresql://grid:pw@db.example.org/grid', GRID_STORE_JOURNAL_FOLD_BYTES: '4096' } });
  assert.equal(pg.store.kind, 'postgres');
  assert.equal(pg.store.url, 'postgresql://grid:pw@db.example.org/grid');
  assert.equal(pg.store.journal_fold_bytes, 4096);
  const p = file('pg.yaml', 'store:\n  kind: postgres\n  url: postgres://db/grid\n');
  assert.equal(loadConfig({ file: p, env: {} }).store.url, 'postgres://db/grid');
  assert.throws(() => loadConfig({ env: { GRID_STORE_KIND: 'postgres' } }), (e: unknown) => e instanceof ConfigError && /store\.url: must be a postgres:\/\/ URL/.test(e.message));
  assert.throws(() => loadConfig({ env: { GRID_STORE_KIND: 'mysql' } }), /store\.kind: must be files or postgres/);
});
