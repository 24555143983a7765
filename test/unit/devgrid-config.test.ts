import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfigInput, luaString, renderProsodyConfig } from '../../src/devgrid/prosody-config.js';
import type { ProsodyConfigInput } from '../../src/devgrid/types.js';

const base: ProsodyConfigInput = {
  domain: 'grid.test', componentJid: 'controller.grid.test', componentSecret: 's3cret-value',
  caFile: '/pki/ca.crt', certFile: '/pki/server.crt', keyFile: '/pki/server.key',
  ports: { c2s: 15222, c2sTls: 15223, component: 15347 },
  dataDir: '/tmp/d', pidFile: '/tmp/d/p.pid', logFile: '/tmp/d/p.log', logLevel: 'info',
  pluginPaths: ['/usr/lib/prosody/modules'], pubsubComponent: true, runAsRoot: false,
  c2sStanzaSizeLimit: 262144, componentStanzaSizeLimit: 524288,
};

test('luaString escapes quotes, backslashes, control and non-ASCII bytes', () => {
  const cases: [string, string][] = [
    ['plain', '"plain"'],
    ['a"b', '"a\\034b"'],
    ['a\\b', '"a\\092b"'],
    ['line\nbreak', '"line\\010break"'],
    ['é', '"\\195\\169"'],
    [']]..os.exit()--', '"]]..os.exit()--"'],
  ];
  for (const [input, want] of cases) assert.equal(luaString(input), want, input);
});

test('the rendered config has certificate login, both TLS blocks, loopback ports and the components', () => {
  const cfg = renderProsodyConfig(base);
  for (const want of [
    'authentication = "ccert"', 'certificate_match = "xmppaddr"',
    'c2s_ports = { 15222 }', 'c2s_direct_tls_ports = { 15223 }', 'component_ports = { 15347 }',
    'c2s_ssl = {', 'c2s_direct_tls_ssl = {', 'verifyext = { lsec_ignore_purpose = false };',
    'verify = { "peer"; "client_once" };', 'cafile = "/pki/ca.crt";',
    'c2s_stanza_size_limit = 262144', 'component_stanza_size_limit = 524288',
    'VirtualHost "grid.test"', 'Component "controller.grid.test"', 'component_secret = "s3cret-value"',
    'Component "pubsub.grid.test" "pubsub"', 's2s_ports = { }',
  ]) assert.ok(cfg.includes(want), `missing: ${want}`);
  assert.ok(!cfg.includes('run_as_root'));
  assert.match(renderProsodyConfig({ ...base, runAsRoot: true }), /^run_as_root = true/m);
  assert.ok(!renderProsodyConfig({ ...base, pubsubComponent: false }).includes('"pubsub"'));
});

test('mod_grid_multicast is loaded only with senders, and only they are named', () => {
  assert.ok(!renderProsodyConfig(base).includes('grid_multicast'), 'absent without senders');
  const cfg = renderProsodyConfig({ ...base, multicastSenders: ['controller.grid.test'] });
  assert.match(cfg, /^modules_enabled = \{[^}]*"grid_multicast" \}/m);
  const host = cfg.slice(cfg.indexOf('VirtualHost'), cfg.indexOf('Component'));
  assert.match(host, /grid_multicast_senders = \{ "controller\.grid\.test" \}/, 'set on the VirtualHost');
  assert.throws(() => renderProsodyConfig({ ...base, multicastSenders: ['Not A Host'] }), /multicast sender/);
});

test('invalid input is refused with a reason per problem', () => {
  const cases: [Partial<ProsodyConfigInput>, RegExp][] = [
    [{ domain: 'Grid Test' }, /domain "Grid Test" is not a lower-case DNS name/],
    [{ componentJid: 'grid.test' }, /componentJid must differ from domain/],
    [{ componentJid: 'pubsub.grid.test' }, /clashes with Prosody's pubsub/],
    [{ componentSecret: 'short' }, /at least 8 characters/],
    [{ caFile: 'relative/ca.crt' }, /caFile must be an absolute path/],
    [{ ports: { c2s: 1, c2sTls: 1, component: 3 } }, /ports must differ/],
    [{ ports: { c2s: 70000, c2sTls: 2, component: 3 } }, /c2s=70000 is out of range/],
    [{ logLevel: 'verbose' }, /logLevel "verbose"/],
  ];
  for (const [patch, want] of cases) {
    const input = { ...base, ...patch };
    assert.match(checkConfigInput(input).join('; '), want);
    assert.throws(() => renderProsodyConfig(input), want);
  }
  assert.deepEqual(checkConfigInput(base), []);
});

test('contrib snippets: a placeholder the test replaces must still be in the file', async () => {
  const { mkdtempSync, writeFileSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { contribEjabberdConfig, contribProsodyConfig, CONTRIB_EJABBERD, CONTRIB_PROSODY } = await import('../../src/devgrid/contrib-config.js');
  const dir = mkdtempSync(join(tmpdir(), 'contrib-'));
  try {
    const input = {
      domain: 'grid.test', componentJid: 'controller.grid.test', componentSecret: 's3cret-s3cret', caFile: '/t/ca.crt', certFile: '/t/s.crt', keyFile: '/t/s.key',
      ports: { c2s: 15222, c2sTls: 15223, component: 15347 }, logLevel: 'info', pubsubComponent: false, c2sStanzaSizeLimit: 1, componentStanzaSizeLimit: 1,
      dataDir: '/t/d', pidFile: '/t/p', logFile: '/t/l', pluginPaths: ['/t/m'], runAsRoot: false,
    };
    const lua = contribProsodyConfig(input);
    assert.match(lua, /VirtualHost "grid\.test"/);
    assert.match(lua, /component_ports = \{ 15347 \}/);
    assert.match(lua, /component_secret = "s3cret-s3cret"/);
    const yml = contribEjabberdConfig({ ...input, multicast: true });
    assert.match(yml, /port: 15223/);
    assert.match(yml, /controller\.grid\.test:\n\s+password: s3cret-s3cret/);
    const edited = join(dir, 'grid.cfg.lua');
    writeFileSync(edited, readFileSync(CONTRIB_PROSODY, 'utf8').replace('component_ports = { 5347 }', 'component_ports = { 5348 }'));
    assert.throws(() => contribProsodyConfig(input, edited), /no longer contains "component_ports = \{ 5347 \}"/);
    const yEdited = join(dir, 'grid.yml');
    writeFileSync(yEdited, readFileSync(CONTRIB_EJABBERD, 'utf8').replace('port: 5222', 'port: 5000'));
    assert.throws(() => contribEjabberdConfig({ ...input, multicast: true }, yEdited), /listener on port 5000/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
