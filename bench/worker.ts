// A bench client process: holds a share of the XMPP connections (SASL EXTERNAL with the dev
// certificates), does what the parent asks over IPC (register, subscribe, publish) and counts
// deliveries with a cheap check — the item id carries the send time, so no payload is parsed.
import { readFileSync } from 'node:fs';
import xml from '@xmpp/xml';
import type { Element } from '@xmpp/xml';
import { connectNode } from '../src/agent/connection.js';
import type { NodeConnection } from '../src/agent/types.js';
import { registrationGet, registrationSubmit, parseRegistration, signChallenge } from '../src/agent/register.js';
import { subscribeIq, publishIq } from '../src/agent/pubsub.js';
import type { Filter } from '../src/agent/grid-types.js';
import { Histogram, nowMs } from './stats.js';
import { indicatorJson, icsBundles } from './payloads.js';
import type { WorkerRequest, PublishSpec, Published } from './fleet-types.js';
import { flood, probe } from './flood-client.js';
import { parseStixPayload } from '../src/payloads/stix.js';
import { isFail } from '../src/result.js';
import { canonicalise, cutStix, makePredicate, type KeepFn } from '../src/filters/index.js';

const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
const NS_JSON = 'urn:xmpp:json:0';

interface Node { name: string; cert: string; key: string; conn: NodeConnection }
const nodes: Node[] = [];

// Counting state for the current run: only item ids starting with `tag-` count.
let tag = '';
let expected = 0;
let count = 0;
/** Characters of payload text delivered (the JSON of each notification's item). */
let bytes = 0;
let first = 0;
let last = 0;
let hist = new Histogram();
let doneSent = false;
/** Characters of XML received on the nodes' streams while armed (all stanzas, as written by the server). */
let wire = 0;
/** W2 without the controller: each node's own keep-test (the project's filter code), by node index. */
let clientKeep: KeepFn[] | undefined;
/** Objects kept by the subscribers (the client-side cut, or what the controller's cuts carried). */
let objectsKept = 0;
let countObjects = false;

function onStanza(s: Element, node: number): void {
  if (!tag || s.name !== 'message') return;
  const ev = s.getChild('event');
  const item = ev?.getChild('items')?.getChild('item');
  const id = ev ? item?.attrs.id : s.attrs.id;
  if (typeof id !== 'string' || !id.startsWith(tag)) return;
  const sent = Number(id.slice(id.lastIndexOf('-') + 1));
  const payload = (item ?? s).getChildElements()[0]?.getText() ?? '';
  bytes += payload.length;
  if (clientKeep) {
    // The subscriber does what the controller would have: parse, cut by its filter, keep the rest.
    const parsed = parseStixPayload(payload);
    if (!isFail(parsed)) objectsKept += cutStix(parsed.value, clientKeep[node % clientKeep.length]!)?.count ?? 0;
  } else if (countObjects) {
    // What the controller cut for this node: parsed as the node would, to use it.
    const doc = JSON.parse(payload) as { objects?: unknown[] };
    objectsKept += doc.objects?.length ?? 1;
  }
  const t = nowMs();
  if (!first) first = t;
  last = t;
  count++;
  hist.record(t - sent);
  if (count >= expected && !doneSent) {
    doneSent = true;
    process.send?.({ event: 'done', count });
  }
}

async function pool<T>(items: T[], width: number, fn: (x: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

async function connect(r: Extract<WorkerRequest, { op: 'connect' }>): Promise<string[]> {
  const ca = readFileSync(r.caFile, 'utf8');
  await pool(r.nodes, 8, async (n) => {
    const conn = await connectNode({ service: r.service, domain: r.domain, certFile: n.cert, keyFile: n.key, ca, timeoutMs: 30_000 });
    // connectNode keeps unclaimed stanzas for waitFor(); the bench never waits on them, and a
    // million retained notifications would measure our memory instead of the server.
    conn.xmpp.removeAllListeners('stanza');
    const index = nodes.length;
    conn.xmpp.on('stanza', (s: Element) => onStanza(s, index));
    conn.xmpp.on('input', (data: string) => { if (tag) wire += Buffer.byteLength(data); });
    nodes.push({ ...n, conn });
  });
  return nodes.map((n) => n.conn.jid);
}

async function register(controller: string): Promise<string[]> {
  const states: string[] = [];
  await pool(nodes, 8, async (n) => {
    const { challenge } = parseRegistration(await n.conn.iq(registrationGet(controller), 20_000));
    const certPem = readFileSync(n.cert, 'utf8');
    const signature = signChallenge(readFileSync(n.key, 'utf8'), challenge);
    await n.conn.iq(registrationSubmit(controller, { challenge, certPem, signature }), 20_000);
    const after = parseRegistration(await n.conn.iq(registrationGet(controller), 20_000));
    states.push(`${n.name}:${after.account.status}`);
  });
  return states;
}

async function subscribe(to: string, topic: string, filters: (Record<string, string[]> | null)[] | undefined): Promise<number> {
  await pool(nodes, 8, async (n, i) => {
    const bare = n.conn.jid.split('/')[0]!;
    const f = filters?.[i % filters.length] ?? undefined;
    await n.conn.iq(subscribeIq(to, topic, bare, (f ?? undefined) as Filter | undefined), 20_000);
  });
  return nodes.length;
}

async function createNode(to: string, node: string, maxItems: number, persist: boolean): Promise<void> {
  const form = xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'http://jabber.org/protocol/pubsub#node_config')),
    xml('field', { var: 'pubsub#max_items' }, xml('value', {}, String(maxItems))),
    xml('field', { var: 'pubsub#persist_items' }, xml('value', {}, persist ? '1' : '0')));
  await nodes[0]!.conn.iq(xml('iq', { type: 'set', to }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('create', { node }), xml('configure', {}, form))), 20_000);
}

/** Publishes `spec.items` items with at most `spec.window` publishes in flight. */
async function publish(spec: PublishSpec): Promise<Published> {
  let ackHist: Histogram | undefined;
  const conn = nodes[0]!.conn;
  const bodies = spec.kind === 'ics' ? icsBundles(spec.icsFile!, spec.perBundle) : undefined;
  let errors = 0;
  let firstError: string | undefined;
  const seqs = Array.from({ length: spec.items }, (_, i) => i);
  const t0 = nowMs();
  if (spec.mode === 'message') {
    // W0: one message per target and round; a round's writes are awaited before the next.
    const body = indicatorJson(0);
    for (const i of seqs) {
      await Promise.all(spec.targets!.map((to) => conn.send(xml('message', { to, id: `${spec.tag}-${i}-${nowMs().toFixed(3)}` }, xml('body', {}, body)))));
    }
  } else if (spec.ratePerS) {
    // Open loop at a fixed rate: publish i is due at t0 + i / rate whatever the answers do, and
    // its id carries the due time, so a late publish counts against latency (no coordinated omission).
    const inflight: Promise<void>[] = [];
    ackHist = new Histogram();
    for (const i of seqs) {
      const due = t0 + (i * 1000) / spec.ratePerS;
      const wait = due - nowMs();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait)); // pacing, not synchronisation
      const text = bodies ? bodies[i % bodies.length]! : indicatorJson(i);
      inflight.push(conn.iq(publishIq(spec.to, spec.topic, xml('json', { xmlns: NS_JSON }, text), `${spec.tag}-${i}-${due.toFixed(3)}`), 60_000).then(
        () => { ackHist!.record(nowMs() - due); }, (err: Error) => { errors++; firstError ??= err.message; }));
    }
    await Promise.all(inflight);
  } else {
    await pool(seqs, spec.window, async (i) => {
      const text = bodies ? bodies[i % bodies.length]! : indicatorJson(i);
      const id = `${spec.tag}-${i}-${nowMs().toFixed(3)}`;
      try {
        await conn.iq(publishIq(spec.to, spec.topic, xml('json', { xmlns: NS_JSON }, text), id), 60_000);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    });
  }
  return { t0, t1: nowMs(), errors, ...(firstError ? { firstError } : {}), ...(ackHist ? { ack: ackHist.toSparse() } : {}) };
}

async function handle(r: WorkerRequest): Promise<unknown> {
  switch (r.op) {
    case 'connect': return connect(r);
    case 'ping': {
      await nodes[0]!.conn.iq(xml('iq', { type: 'get', to: r.to }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })), r.timeoutMs);
      return true;
    }
    case 'register': return register(r.controller);
    case 'subscribe': return subscribe(r.to, r.topic, r.filters);
    case 'create-node': return createNode(r.to, r.node, r.maxItems, r.persist);
    case 'arm':
      tag = r.tag; count = 0; bytes = 0; wire = 0; objectsKept = 0; first = 0; last = 0; hist = new Histogram();
      countObjects = !!r.countObjects;
      clientKeep = r.clientFilter ? r.clientFilter.groups.map((g) => makePredicate(canonicalise(g), {}, r.clientFilter!.fields)) : undefined;
      // Per filter group: how many notifications a node of that group is owed (node i has group i mod G).
      expected = r.expectedByGroup ? nodes.reduce((a, _, i) => a + r.expectedByGroup![i % r.expectedByGroup!.length]!, 0) : r.expected;
      doneSent = expected === 0;
      return expected;
    case 'collect': {
      const res = { count, bytes, first, last, hist: hist.toSparse(), wire, objects: objectsKept, nodes: nodes.length, expected };
      clientKeep = undefined;
      tag = '';
      return res;
    }
    case 'count': return count;
    case 'publish': return publish(r.spec);
    case 'probe': return probe(nodes[0]!.conn, r);
    case 'flood': return flood(nodes[0]!.conn, r);
    case 'close':
      await Promise.all(nodes.map((n) => n.conn.close().catch(() => undefined)));
      setImmediate(() => process.exit(0));
      return true;
  }
}

process.on('message', (m: WorkerRequest & { rid: number }) => {
  handle(m).then(
    (result) => process.send?.({ rid: m.rid, result }),
    (err: Error) => process.send?.({ rid: m.rid, error: `${err.name}: ${err.message}` }),
  );
});
// The parent went away (Ctrl-C, crash): never linger holding connections.
process.on('disconnect', () => process.exit(0));
