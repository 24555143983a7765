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
