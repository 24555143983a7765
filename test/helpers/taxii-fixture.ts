// A dev grid with the TAXII door (PROTOCOL §13) for the TAXII integration tests: a policy with
// a capped partner, a discover-only topic and a hidden one; STIX objects with TLP markings.
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { xml } from '@xmpp/client';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { httpsClient } from './https-client.js';
import { CTL, id, isAccountMessage, register } from './grid-client.js';

export const TOPIC = 'threat-intel/indicators';
export const HIDDEN = 'threat-intel/hidden';
export const READONLY = 'threat-intel/discover-only';
export const TLP = {
  clear: 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
  green: 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da',
  amber: 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
  red: 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
} as const;

export const POLICY = `admins: [admin@grid.test]
groups:
  soc: Security operations
  partners: External partners
  providers: Threat-intel providers
topics:
  - name: ${TOPIC}
    title: Indicators of compromise
    description: IOCs
    content_type: application/stix+json;version=2.1
    filter_fields: { location: x_location }
    max_items: 100000
  - name: ${HIDDEN}
    title: Hidden
    content_type: application/stix+json;version=2.1
  - name: ${READONLY}
    title: Discover only
    content_type: application/stix+json;version=2.1
  - name: incidents/iodef
    content_type: application/iodef+xml
rules:
  - id: hidden-soc-only
    effect: deny
    groups: [partners, providers]
    topics: ["${HIDDEN}"]
  - id: soc-consume
    effect: permit
    operations: [discover, subscribe, query, bulk]
    groups: [soc]
    topics: ["threat-intel/**", "incidents/**"]
  - id: partners-see
    effect: permit
    operations: [discover]
    groups: [partners]
    topics: ["${READONLY}"]
  - id: partners-consume
    effect: permit
    operations: [discover, subscribe, query]
    groups: [partners]
    topics: ["${TOPIC}"]
    max_tlp: green
    unmarked: deny
  - id: providers-publish
    effect: permit
    operations: [discover, publish, query, subscribe]
    groups: [providers]
    topics: ["threat-intel/**"]
# end
`;

let n = 0;
/** A valid STIX 2.1 indicator; `tlp` undefined: unmarked. */
export function indicator(o: { tlp?: keyof typeof TLP; id?: string; modified?: string; created?: string; location?: string; confidence?: number; name?: string } = {}) {
  const created = o.created ?? '2026-01-01T00:00:00.000Z';
  return {
    type: 'indicator', spec_version: '2.1', id: o.id ?? `indicator--${randomUUID()}`,
    created, modified: o.modified ?? created, name: o.name ?? `ioc ${++n}`,
    pattern: `[ipv4-addr:value = '10.0.${(n >> 8) & 255}.${n & 255}']`, pattern_type: 'stix', valid_from: created,
    ...(o.tlp ? { object_marking_refs: [TLP[o.tlp]] } : {}),
    ...(o.location ? { x_location: o.location } : {}),
    ...(o.confidence !== undefined ? { confidence: o.confidence } : {}),
  };
}

export function markingDefinition(tlp: 'green' | 'amber') {
  return { type: 'marking-definition', spec_version: '2.1', id: TLP[tlp], created: '2017-01-20T00:00:00.000Z', definition_type: 'tlp', name: `TLP:${tlp.toUpperCase()}`, definition: { tlp } };
}

export interface TaxiiGrid {
  grid: DevGrid;
  nodes: Record<string, NodeConnection>;
  ca: string;
  base(): string;
  /** An HTTPS client as node `name` (its certificate). */
  as(name: string): ReturnType<typeof httpsClient>;
  anon: ReturnType<typeof httpsClient>;
  certOf(name: string): { certPem: string; keyPem: string };
  publish(node: string, topic: string, payload: unknown, itemId?: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * sandbox: providers (publishes), soc1: soc, partner1: partners (capped at green, unmarked
 * denied), pending1: pending, revoked1: revoked.
 */
export async function startTaxiiGrid(opts: { basic?: boolean; extraPolicy?: string; env?: Record<string, string> } = {}): Promise<TaxiiGrid> {
  const policies = mkdtempSync(join(tmpdir(), 'grid-taxii-policy-'));
  writeFileSync(join(policies, '00-taxii.yaml'), POLICY);
  if (opts.extraPolicy) writeFileSync(join(policies, '10-extra.yaml'), opts.extraPolicy);
  const names = ['sandbox', 'soc1', 'partner1', 'pending1', 'revoked1'];
  const grid = await startDevGrid({ nodes: names.map((name) => ({ name, OU: name })), policiesDir: policies, taxii: { basic: opts.basic ?? true }, ...(opts.env ? { env: opts.env } : {}) });
  const nodes: Record<string, NodeConnection> = {};
  for (const name of names) nodes[name] = await grid.connect(name);
  for (const name of names) await register(nodes[name]!, grid.pki.nodes[name]!, name === 'sandbox' ? { deviceType: 'sandbox' } : {});
  const c = grid.controller!;
  await c.accounts.approve('sandbox@grid.test', 'test', ['providers']);
  await c.accounts.approve('soc1@grid.test', 'test', ['soc']);
  await c.accounts.approve('partner1@grid.test', 'test', ['partners']);
  await c.accounts.approve('revoked1@grid.test', 'test', ['soc']);
  await c.accounts.revoke('revoked1@grid.test', 'test');
  const ca = readFileSync(grid.pki.ca.cert, 'utf8');
  const certOf = (name: string) => ({ certPem: readFileSync(grid.pki.nodes[name]!.cert, 'utf8'), keyPem: readFileSync(grid.pki.nodes[name]!.key, 'utf8') });
  const base = () => grid.controller!.https!.url;
  const t: TaxiiGrid = {
    grid, nodes, ca, base, certOf,
    as: (name) => {
      const cert = certOf(name);
      return (path, r = {}) => httpsClient({ base: base(), ca, cert })(path, r);
    },
    anon: (path, r = {}) => httpsClient({ base: base(), ca })(path, r),
    async publish(node, topic, payload, itemId = `it-${randomUUID()}`) {
      await nodes[node]!.iq(xml('iq', { type: 'set', to: CTL, id: id('p') },
        xml('pubsub', { xmlns: 'http://jabber.org/protocol/pubsub' }, xml('publish', { node: topic }, xml('item', { id: itemId }, xml('json', { xmlns: 'urn:xmpp:json:0' }, JSON.stringify(payload)))))));
    },
    async close() {
      for (const x of Object.values(nodes)) await x.close().catch(() => {});
      await grid.stop();
    },
  };
  void isAccountMessage;
  return t;
}
