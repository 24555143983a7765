// A controller without a network: real TopicService/ItemService on an in-memory control store
// and the real item store in a temp folder, a real policy, the real router and handlers.
// Tests send IQs the way XEP-0060's examples do and read the answers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { silentLogger } from '../../src/log.js';
import { fail } from '../../src/result.js';
import { parsePolicyText } from '../../src/policy/load.js';
import type { PolicySubject } from '../../src/policy/types.js';
import { openItemStore } from '../../src/store/index.js';
import type { ControlStore, ItemStore } from '../../src/store/types.js';
import { DEFAULT_TOPIC_LIMITS, EMPTY_TOPICS, TopicService } from '../../src/topics/service.js';
import { ItemService, type Published } from '../../src/topics/items.js';
import type { Subscription, TopicEvent, TopicLimits, TopicsState } from '../../src/topics/types.js';
import { Router } from '../../src/xmpp/router.js';
import { Disco } from '../../src/xmpp/handlers/disco.js';
import { installPubsub } from '../../src/xmpp/handlers/pubsub.js';
import { discoProvider } from '../../src/xmpp/handlers/topics-disco.js';
import { installGrid } from '../../src/xmpp/handlers/grid.js';
import { xmlCodec } from '../../src/xmpp/xml-codec.js';

export const DOMAIN = 'controller.grid.test';
export const TOPIC = 'threat-intel/indicators';
export const NS = {
  PUBSUB: 'http://jabber.org/protocol/pubsub',
  OWNER: 'http://jabber.org/protocol/pubsub#owner',
  EVENT: 'http://jabber.org/protocol/pubsub#event',
  ERRORS: 'http://jabber.org/protocol/pubsub#errors',
  STANZAS: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  DATA: 'jabber:x:data',
  RSM: 'http://jabber.org/protocol/rsm',
  SHIM: 'http://jabber.org/protocol/shim',
  GRID: 'urn:xmpp-grid:0',
  JSON: 'urn:xmpp:json:0',
  DISCO_INFO: 'http://jabber.org/protocol/disco#info',
  DISCO_ITEMS: 'http://jabber.org/protocol/disco#items',
  IODEF: 'urn:ietf:params:xml:ns:iodef-2.0',
};

export const POLICY = `
groups: { soc: SOC, partners: Partners, providers: Providers, seers: Discover only }
topics:
  - name: ${TOPIC}
    title: Indicators of compromise
    content_type: application/stix+json;version=2.1
    filter_fields: { location: x_location }
    max_items: 5
  - name: threat-intel/iodef
    title: Incidents
    content_type: application/iodef+xml
  - name: internal/secret
    content_type: application/stix+json;version=2.1
rules:
  - id: soc-consume
    effect: permit
    operations: [discover, subscribe, query]
    groups: [soc]
    topics: ["threat-intel/**"]
  - id: partners-consume
    effect: permit
    operations: [discover, subscribe, query]
    groups: [partners]
    topics: ["threat-intel/**"]
    max_tlp: green
  - id: providers
    effect: permit
    operations: [discover, publish, create]
    groups: [providers]
    topics: ["threat-intel/**"]
  - id: seers
    effect: permit
    operations: [discover]
    groups: [seers]
    topics: ["threat-intel/**"]
`;

export const ACCOUNTS: Record<string, PolicySubject> = {
  'provider@grid.test': { jid: 'provider@grid.test', groups: ['providers'], deviceType: 'tip' },
  'provider2@grid.test': { jid: 'provider2@grid.test', groups: ['providers'] },
  'node2@grid.test': { jid: 'node2@grid.test', groups: ['soc'] },
  'partner@grid.test': { jid: 'partner@grid.test', groups: ['partners'] },
  'seer@grid.test': { jid: 'seer@grid.test', groups: ['seers'] },
  'nobody@grid.test': { jid: 'nobody@grid.test', groups: [] },
};

/** The ControlStore contract in memory: a throwing mutator changes nothing. */
function memoryControl(initial: TopicsState): ControlStore<TopicsState> {
  return {
    data: structuredClone(initial),
    source: 'defaults',
    async update(fn) {
      const copy = structuredClone(this.data);
      fn(copy);
      (this as { data: TopicsState }).data = copy;
    },
    async close() {},
  };
}

export interface Harness {
  router: Router;
  disco: Disco;
  topics: TopicService;
  items: ItemService;
  itemStore: ItemStore;
  published: Published[];
  retracted: { topic: string; itemId: string; subscriptions: Subscription[] }[];
  purged: { topic: string; subscriptions: Subscription[] }[];
  events: TopicEvent[];
  setPayloadLimit(n: number): void;
  /** Sends an iq from `from` (full JID) and returns the answer: an element, or true (empty result). */
  iq(from: string, type: 'get' | 'set', child: Element): Promise<Element | true>;
  close(): Promise<void>;
}

/**
 * `policyText` defaults to POLICY; the fuzz test passes one with a catch-all rule. It is the
 * file without its end line, which is appended here (schema.ts endMarkerProblem).
 * `limits`: the topic caps (default the config's defaults, DEFAULT_TOPIC_LIMITS);
 * `subscriptions`: stored before start (the memory store copies its state on every write,
 * so thousands of subscribes one by one would take a minute).
 */
export async function harness(policyText = POLICY, limits?: Partial<TopicLimits>, subscriptions: Subscription[] = []): Promise<Harness> {
  const log = silentLogger();
  const loaded = parsePolicyText(policyText + '# end\n');
  assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.errors));
  const policy = loaded.policy;
  const subjectOf = (bare: string) => ACCOUNTS[bare] ?? null;
  const dir = mkdtempSync(join(tmpdir(), 'pubsub-proto-'));
  const itemStore = await openItemStore(dir);
  const initial = structuredClone(EMPTY_TOPICS);
  for (const sub of subscriptions) initial.subscriptions[sub.subid] = sub;
  const topics = new TopicService({ store: memoryControl(initial), policy: () => policy, subject: subjectOf, log, limits: { ...DEFAULT_TOPIC_LIMITS, ...limits } });
  await topics.applyDeclaredTopics(policy.topics);
  let limit = 262144;
  const items = new ItemService({ topics, items: itemStore, subject: subjectOf, payloadLimit: () => limit, xml: xmlCodec, log });
  const router = new Router(log);
  router.setGate((bare) => (subjectOf(bare) ? null : fail('registration-required')));
  const disco = new Disco();
  disco.install(router, (bare) => (subjectOf(bare) ? null : fail('registration-required')));
  const h: Harness = {
    router, disco, topics, items, itemStore, published: [], retracted: [], purged: [], events: [],
    setPayloadLimit: (n) => (limit = n),
    async iq(from, type, child) {
      const st = xml('iq', { type, id: 'q1', from, to: DOMAIN }, child);
      return router.dispatchIq(type, st, child);
    },
    async close() {
      await itemStore.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  topics.on('event', (e: TopicEvent) => h.events.push(e));
  // What the core broadcasts, as the XMPP door hears it (xmpp/broadcast.ts): a retract is
  // told only when the publisher asked for notify.
  items.events.on((e) => {
    if (e.kind === 'published') h.published.push(e.published);
    else if (e.kind === 'retracted' && e.notify && e.subscriptions.length) h.retracted.push(e);
    else if (e.kind === 'purged') h.purged.push(e);
  });
  installPubsub(router, disco, { topics, items, subjectOf, domain: DOMAIN });
  installGrid(router, disco, { topics, items, subjectOf });
  disco.setProvider(discoProvider({ topics, items, subjectOf, domain: DOMAIN }));
  return h;
}

// ---- stanza builders, named after XEP-0060's use cases

export const pubsub = (...children: Element[]) => xml('pubsub', { xmlns: NS.PUBSUB }, ...children);
export const owner = (...children: Element[]) => xml('pubsub', { xmlns: NS.OWNER }, ...children);

export function form(type: string, formType: string, fields: Record<string, string[]>): Element {
  return xml('x', { xmlns: NS.DATA, type },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, formType)),
    ...Object.entries(fields).map(([v, vals]) => xml('field', { var: v }, ...vals.map((x) => xml('value', {}, x)))));
}

export const SUB_OPTIONS = 'http://jabber.org/protocol/pubsub#subscribe_options';

export function filterOptions(fields: Record<string, string[]>): Element {
  const clark: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(fields)) clark[`{urn:xmpp-grid:0}filter.${k}`] = v;
  return xml('options', {}, form('submit', SUB_OPTIONS, clark));
}

export function jsonItem(json: unknown, id?: string): Element {
  return xml('item', id ? { id } : {}, xml('json', { xmlns: NS.JSON }, JSON.stringify(json)));
}

export function publishEl(node: string, item: Element): Element {
  return pubsub(xml('publish', { node }, item));
}

// ---- STIX content

export const TLP_GREEN = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';
export const TLP_RED = 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed';
const T = '2024-05-01T00:00:00.000Z';
let n = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;

export function indicator(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'indicator', spec_version: '2.1', id: `indicator--${uuid()}`, created: T, modified: T,
    pattern: "[ipv4-addr:value = '198.51.100.7']", pattern_type: 'stix', valid_from: T, ...extra,
  };
}

export function malware(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'malware', spec_version: '2.1', id: `malware--${uuid()}`, created: T, modified: T, name: 'x', is_family: false, ...extra };
}

export function bundle(...objects: Record<string, unknown>[]): Record<string, unknown> {
  return { type: 'bundle', id: `bundle--${uuid()}`, objects };
}

// ---- reading answers

export function el(r: Element | true): Element {
  assert.notEqual(r, true, 'expected an element, got an empty result');
  return r as Element;
}

/** Asserts an <error/> with its type, defined condition and (optional) pubsub#errors / grid condition. */
export function assertError(r: Element | true, type: string, condition: string, app?: string, appNs = NS.ERRORS): Element {
  const e = el(r);
  assert.equal(e.name, 'error', `expected an error, got ${e.toString().slice(0, 300)}`);
  assert.equal(e.attrs.type, type, e.toString());
  assert.ok(e.getChild(condition, NS.STANZAS), `expected <${condition}/> in ${e.toString()}`);
  if (app) assert.ok(e.getChild(app, appNs), `expected <${app}/> in ${e.toString()}`);
  return e;
}

export function fieldValues(x: Element | undefined, v: string): string[] | undefined {
  const f = x?.getChildren('field').find((ff) => ff.attrs.var === v);
  return f?.getChildren('value').map((val) => val.getText());
}

/** Parses serialised XML (for stanzas that carry pre-serialised parts). */
export function reparse(s: string): Element {
  const p = new xml.Parser();
  let root: Element | undefined;
  let err: unknown;
  p.on('start', (e: Element) => (root = e));
  p.on('element', (e: Element) => root!.append(e));
  p.on('error', (e: unknown) => (err = e));
  p.write(s);
  if (err || !root) throw err ?? new Error('nothing parsed');
  return root;
}
