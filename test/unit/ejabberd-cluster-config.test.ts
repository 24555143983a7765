// The dev grid's ejabberd.yml for a cluster of controllers (docs/protocol.md §14): with
// componentNumber, domain_balancing bare_source with component_number (ejabberd 23.01 crashes
// the component handshake without it); without, no domain_balancing at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { renderEjabberdConfig, type EjabberdConfigInput } from '../../src/devgrid/ejabberd-config.js';

const base: EjabberdConfigInput = {
  domain: 'grid.test', componentJid: 'controller.grid.test', componentSecret: 'secret-secret', caFile: '/ca.crt', certFile: '/s.crt', keyFile: '/s.key',
  ports: { c2s: 1, c2sTls: 2, component: 3 }, logLevel: 'info', c2sStanzaSizeLimit: 1000, componentStanzaSizeLimit: 2000, multicast: false, pubsubComponent: false,
};

test('componentNumber N writes domain_balancing bare_source with component_number N', () => {
  const y = parse(renderEjabberdConfig({ ...base, componentNumber: 2 })) as Record<string, unknown>;
  assert.deepEqual(y.domain_balancing, { 'controller.grid.test': { type: 'bare_source', component_number: 2 } });
});

test('without componentNumber there is no domain_balancing (ejabberd spreads over live connections)', () => {
  const y = parse(renderEjabberdConfig(base)) as Record<string, unknown>;
  assert.equal(y.domain_balancing, undefined);
});

test('a componentNumber that is not a positive integer is refused', () => {
  assert.throws(() => renderEjabberdConfig({ ...base, componentNumber: 0 }), /componentNumber 0 must be a positive integer/);
});
