// Deterministic stanza generator for the protocol fuzz (fuzz.test.ts): valid IQs after
// XEP-0060 and docs/protocol.md's examples, then 1–3 random mutations each. A seeded PRNG makes
// every run the same, so a failure names its iteration and can be replayed.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import {
  NS, TOPIC, TLP_GREEN, bundle, filterOptions, form, indicator, jsonItem, malware, owner, publishEl, pubsub, SUB_OPTIONS,
} from './pubsub-fixture.js';

/** mulberry32: small, fast, good enough to pick mutations. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rnd {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** A topic name of 128 characters whose file name (every '/' becomes %2F) is too long to store. */
export const SLASHY_TOPIC = `threat-intel/${'a/'.repeat(57)}a`;

export const NODES = [
  TOPIC, 'threat-intel/iodef', 'internal/secret', 'threat-intel/new', 'threat-intel/xml', `${TOPIC}~853495ea38be367e`,
  `${TOPIC}~`, `${TOPIC}~zzzz`, '~', '..', '../..', 'threat-intel/../internal/secret', 'threat-intel//x', '/', '',
  'Threat-Intel/Indicators', 'threat-intel/' + 'x'.repeat(200), SLASHY_TOPIC, 'constructor', '__proto__', 'toString',
  'threat-intel/ü', 'threat-intel/x\u0000y', ' threat-intel/indicators',
];

export const WEIRD = [
  '', ' ', '\t\n', 'x'.repeat(5000), '\u0000', '\u0001\u001f', '\uD800', '😀🔥', 'ünïcødé', '<x/>', '&amp;', '"\'',
  '-1', '0', '1', '999999999999999999999', '1e9', 'NaN', 'Infinity', '1.5', '0x10', 'true', 'null', '__proto__',
  'constructor', 'hasOwnProperty', '{urn:xmpp-grid:0}filter.', '{urn:xmpp-grid:0}filter.__proto__', 'filter.__proto__',
  'max', 'whitelist', 'open', 'headline', 'application/xml', 'APPLICATION/STIX+JSON ; VERSION=2.1', 'location=x_location',
  '=', 'a=', 'type=x', 'node2@grid.test', 'node2@grid.test/siem', 'NODE2@GRID.TEST/x', 'someone@else.test', '@', '/',
  'FORM_TYPE', SUB_OPTIONS, 'urn:xmpp-grid:0#query', 'urn:xmpp-grid:0#register', 'http://jabber.org/protocol/pubsub#node_config',
  'execute', 'complete', 'cancel', 'prev', 'next', 'submit', 'form', 'result',
  ...NODES,
];

const NAMES = ['pubsub', 'subscribe', 'unsubscribe', 'publish', 'retract', 'items', 'item', 'options', 'x', 'field', 'value',
  'set', 'max', 'after', 'before', 'index', 'configure', 'create', 'delete', 'purge', 'query', 'remove', 'command', 'json',
  'IODEF-Document', 'publish-options', 'default', 'subscriptions', 'affiliations', 'junk', 'a:b'];
const NSS = [NS.PUBSUB, NS.OWNER, NS.DATA, NS.RSM, NS.GRID, NS.JSON, NS.IODEF, 'jabber:iq:register', 'http://jabber.org/protocol/commands',
  'urn:xmpp:ping', NS.DISCO_INFO, NS.DISCO_ITEMS, '', 'urn:x:junk'];
const ATTRS = ['node', 'jid', 'subid', 'id', 'max_items', 'notify', 'var', 'type', 'action', 'sessionid', 'operation', 'xmlns', 'publisher', 'index'];

/** STIX-ish JSON, often broken: the payload layer must refuse it with invalid-payload, not throw. */
function jsonText(r: Rnd): string {
  const objs = [indicator(), malware(), indicator({ object_marking_refs: [TLP_GREEN], confidence: 80 })];
  const variants: (() => unknown)[] = [
    () => bundle(...objs),
    () => ({ objects: objs }),
    () => objs[0],
    () => ({ type: 'bundle', id: 'bundle--x', objects: 'no' }),
    () => ({ type: 'bundle', objects: [null, 1, 'x', [], {}] }),
    () => ({ ...objs[0], created: 5, modified: { a: 1 }, labels: [], confidence: 101 }),
    () => ({ ...objs[1], spec_version: 2.1, id: 'malware--not-a-uuid', kill_chain_phases: [{}], external_references: [1] }),
    () => ({ ...objs[0], __proto__: { polluted: true }, constructor: 'x', x_deep: nest(r.int(200)) }),
    () => ({ objects: Array.from({ length: r.int(300) }, () => objs[r.int(3)]) }),
    () => bundle({ type: 'relationship', spec_version: '2.1', id: 'relationship--00000000-0000-4000-8000-000000000001', created: '2024-05-01T00:00:00Z', modified: '2024-05-01T00:00:00Z', relationship_type: 'uses', source_ref: 5, target_ref: 'x--y' }),
    () => bundle({ ...objs[0], granular_markings: [{ selectors: [], marking_ref: TLP_GREEN }], created_by_ref: 'identity--' }),
  ];
  const text = JSON.stringify(r.pick(variants)());
  switch (r.int(6)) {
    case 0: return text.slice(0, r.int(text.length + 1));
    case 1: return `${text}${r.pick(['}', ',', ' x', '\u0000'])}`;
    case 2: return r.pick(['', ' ', 'null', '[]', '1', '"s"', '{', '{"a":', 'NaN', '[[[[[[[[[[[[[[[[[[[[', '9'.repeat(400)]);
    case 3: return '['.repeat(r.int(20000)) + ']'.repeat(r.int(20000));
    default: return text;
  }
}

function nest(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { v };
  return v;
}

function iodef(r: Rnd): Element {
  const ok = xml('IODEF-Document', { xmlns: NS.IODEF, version: '2.00', lang: 'en' },
    xml('Incident', { purpose: 'reporting' }, xml('IncidentID', { name: 'csirt.example' }, '1'), xml('GenerationTime', {}, '2024-05-01T00:00:00Z')));
  if (r.chance(0.3)) return xml('IODEF-Document', { xmlns: r.pick([NS.IODEF, 'urn:ietf:params:xml:ns:iodef-1.0', '']) }, ...(r.chance(0.5) ? [] : [xml('x')]));
  return ok;
}

/** Context the seeds need from the running controller: a fresh challenge, a certificate, the last command session. */
export interface SeedContext {
  challenge(bare: string): string;
  cert: { pem: string; signature: (challenge: string) => string };
  lastSid: string;
}

export type Seed = { type: 'get' | 'set'; child: Element };

const rsm = (r: Rnd) => xml('set', { xmlns: NS.RSM },
  ...(r.chance(0.7) ? [xml('max', {}, r.pick(['0', '1', '3', '1000', '100000', '-1', '1e3', ' 2 ', '']))] : []),
  ...(r.chance(0.3) ? [xml(r.pick(['after', 'before']), {}, r.pick(['', '1', '2', 'x', '-5', '99999999999']))] : []),
  ...(r.chance(0.2) ? [xml('index', {}, r.pick(['0', '5', '-1', '999999999']))] : []));

/** Every use case once, built lazily (only the picked one pays for its payload). */
export function seeds(r: Rnd, ctx: SeedContext, from: string): (() => Seed)[] {
  const node = () => (r.chance(0.6) ? TOPIC : r.pick(NODES));
  const bareFrom = from.split('/')[0]!;
  const jid = () => r.pick([from, bareFrom, 'node2@grid.test/siem', 'other@grid.test']);
  const cfgForm = () => r.chance(0.5) ? form('submit', 'http://jabber.org/protocol/pubsub#node_config', {
    'pubsub#max_items': ['3'], '{urn:xmpp-grid:0}filter_fields': ['location=x_location'],
  }) : form('submit', 'http://jabber.org/protocol/pubsub#node_config', {
    'pubsub#title': ['T'], 'pubsub#max_items': [r.pick(['3', 'max', '0', '1000001'])],
    '{urn:xmpp-grid:0}content_type': [r.pick(['application/stix+json;version=2.1', 'application/xml', 'application/iodef+xml', 'text/plain'])],
    '{urn:xmpp-grid:0}filter_fields': [r.pick(['location=x_location', 'type=x', '__proto__=x', 'a=b..c'])],
    'pubsub#type': [r.pick(['urn:x:ns', NS.JSON, ''])],
  });
  const queryForm = () => form('submit', 'urn:xmpp-grid:0#query', {
    'filter.type': [r.pick(['malware', 'indicator', 'NOT A TYPE'])], after_seq: [r.pick(['0', '3', '-1', '1e3'])],
    ...(r.chance(0.3) ? { added_after: [r.pick(['2024-05-01T00:00:00Z', '2024-13-45T99:00:00Z', 'yesterday'])] } : {}),
  });
  const reg = () => {
    const ch = r.chance(0.8) ? ctx.challenge(bareFrom) : 'stale';
    return form('submit', 'urn:xmpp-grid:0#register', {
      challenge: [ch], certificate: ctx.cert.pem.split('\n'), signature: [ctx.cert.signature(ch)],
      groups: ['soc', 'providers'], 'device-type': ['tip'], description: ['fuzz'],
    });
  };
  const cmdNode = () => `urn:xmpp-grid:0#${r.pick(['accounts', 'approve', 'deny', 'revoke', 'set-groups', 'remove', 'nope'])}`;
  return [
    () => ({ type: 'set', child: pubsub(xml('subscribe', { node: node(), jid: jid() })) }),
    () => ({ type: 'set', child: pubsub(xml('subscribe', { node: node(), jid: jid() }), filterOptions({ type: ['indicator', 'malware'], tlp: ['green'], min_confidence: ['70'], location: ['x'] })) }),
    () => ({ type: 'set', child: pubsub(xml('unsubscribe', { node: node(), jid: jid(), ...(r.chance(0.3) ? { subid: 'x' } : {}) })) }),
    () => ({ type: 'set', child: publishEl(node(), xml('item', r.chance(0.5) ? { id: r.pick(['i1', 'i2', '', 'x'.repeat(3000), '../i']) } : {}, xml('json', { xmlns: NS.JSON }, jsonText(r)))) }),
    () => ({ type: 'set', child: publishEl(node(), jsonItem(bundle(indicator()), 'ok1')) }),
    () => ({ type: 'set', child: publishEl(r.pick(['threat-intel/iodef', node()]), xml('item', {}, iodef(r))) }),
    () => ({ type: 'set', child: pubsub(xml('publish', { node: node() }, jsonItem(bundle(malware()))), xml('publish-options', {}, form('submit', 'http://jabber.org/protocol/pubsub#publish-options', { 'pubsub#access_model': ['whitelist'], 'pubsub#max_items': ['5'] }))) }),
    () => ({ type: 'set', child: pubsub(xml('retract', { node: node(), notify: 'true' }, xml('item', { id: r.pick(['i1', 'ok1', 'none']) }))) }),
    () => ({ type: 'get', child: pubsub(xml('items', { node: node(), ...(r.chance(0.4) ? { max_items: r.pick(['1', '0', '-1', 'x']) } : {}) }, ...(r.chance(0.3) ? [xml('item', { id: 'ok1' })] : [])), ...(r.chance(0.5) ? [rsm(r)] : [])) }),
    () => ({ type: 'get', child: pubsub(xml(r.pick(['subscriptions', 'affiliations']), r.chance(0.5) ? { node: node() } : {})) }),
    () => ({ type: r.pick(['get', 'set']), child: pubsub(xml('options', { node: node(), jid: jid() }, form('submit', SUB_OPTIONS, { '{urn:xmpp-grid:0}filter.type': ['malware'] }))) }),
    () => ({ type: 'get', child: pubsub(xml('default', { node: node() })) }),
    () => ({ type: 'set', child: pubsub(xml('create', { node: r.pick(['threat-intel/new', 'threat-intel/xml', SLASHY_TOPIC, node()]) }), xml('configure', {}, cfgForm())) }),
    () => ({ type: r.pick(['get', 'set']), child: owner(xml('configure', { node: node() }, cfgForm())) }),
    () => ({ type: 'set', child: owner(xml(r.pick(['delete', 'purge']), { node: r.pick(['threat-intel/new', 'threat-intel/xml', node()]) })) }),
    () => ({ type: 'get', child: owner(xml('default')) }),
    () => ({ type: 'set', child: xml('publisher', { xmlns: NS.GRID, node: node() }) }),
    () => ({ type: 'get', child: xml('subtopics', { xmlns: NS.GRID, node: node() }) }),
    () => ({ type: 'get', child: xml('query', { xmlns: NS.GRID, node: node() }, queryForm(), ...(r.chance(0.5) ? [rsm(r)] : [])) }),
    () => ({ type: 'get', child: xml('authorize', { xmlns: NS.GRID, jid: jid(), node: node(), operation: r.pick(['query', 'subscribe', 'bulk', 'root']) }) }),
    () => ({ type: 'get', child: xml('query', { xmlns: r.pick([NS.DISCO_INFO, NS.DISCO_ITEMS]), ...(r.chance(0.7) ? { node: r.pick([...NODES, 'http://jabber.org/protocol/commands', 'urn:xmpp-grid:0#approve']) } : {}) }, ...(r.chance(0.4) ? [rsm(r)] : [])) }),
    () => ({ type: 'get', child: xml('query', { xmlns: 'jabber:iq:register' }) }),
    () => ({ type: 'set', child: xml('query', { xmlns: 'jabber:iq:register' }, reg()) }),
    () => ({ type: 'set', child: xml('query', { xmlns: 'jabber:iq:register' }, xml('remove')) }),
    () => ({ type: 'set', child: xml('command', { xmlns: 'http://jabber.org/protocol/commands', node: cmdNode(), action: 'execute' }) }),
    () => ({ type: 'set', child: xml('command', { xmlns: 'http://jabber.org/protocol/commands', node: cmdNode(), sessionid: ctx.lastSid, action: r.pick(['complete', 'cancel', 'next']) },
      form('submit', '', { jid: [r.pick(['node2@grid.test', 'fuzz@grid.test', '__proto__', 'constructor', '', 'x'.repeat(3000)])], groups: [r.pick(['soc', 'nope', ''])], status: [r.pick(['', 'pending', 'bogus'])] })) }),
    () => ({ type: 'get', child: xml('ping', { xmlns: 'urn:xmpp:ping' }) }),
  ];
}

// ---- mutations

function allElements(el: Element, out: Element[] = []): Element[] {
  out.push(el);
  for (const c of el.getChildElements()) allElements(c, out);
  return out;
}

/** Applies one random mutation somewhere in the tree (never replacing the root itself). */
export function mutate(r: Rnd, root: Element): void {
  const els = allElements(root);
  const el = r.pick(els);
  const kids = el.getChildElements();
  switch (r.int(12)) {
    case 0: if (kids.length) el.remove(r.pick(kids)); break;
    case 1: if (kids.length) el.append(cloneEl(r.pick(kids))); break;
    case 2: if (el !== root) el.name = r.pick(NAMES); break;
    case 3: el.attrs[r.pick(ATTRS)] = r.pick(WEIRD); break;
    case 4: { const ks = Object.keys(el.attrs); if (ks.length) delete el.attrs[r.pick(ks)]; break; }
    case 5: if (!kids.length) el.children = [r.pick(WEIRD)]; break;
    case 6: if (el !== root) el.attrs.xmlns = r.pick(NSS); break;
    case 7: el.append(junk(r, r.int(4))); break;
    case 8: el.children = []; break;
    case 9: for (const v of els.filter((e) => e.name === 'value')) if (r.chance(0.5)) v.children = [r.pick(WEIRD)]; break;
    case 10: for (const f of els.filter((e) => e.name === 'field')) if (r.chance(0.3)) f.children = []; break;
    default: if (el.attrs.node !== undefined || r.chance(0.3)) el.attrs.node = r.pick(NODES); break;
  }
}

function junk(r: Rnd, depth: number): Element {
  const e = xml(r.pick(NAMES), r.chance(0.5) ? { xmlns: r.pick(NSS) } : {});
  if (depth > 0) for (let i = 0; i < 1 + r.int(3); i++) e.append(junk(r, depth - 1));
  else if (r.chance(0.5)) e.children = [r.pick(WEIRD)];
  return e;
}

function cloneEl(e: Element): Element {
  const c = xml(e.name, { ...e.attrs });
  for (const k of e.children) c.append(typeof k === 'string' ? k : cloneEl(k as Element));
  return c;
}
