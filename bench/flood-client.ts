// The flood workload's client side (bench/flood.ts runs it): a victim that sends one request
// at a time — disco#info on the controller, then a publish, in turn — and times each; and a
// flooder that keeps `window` of the same requests in flight for as long as it is told.
import xml from '@xmpp/xml';
import type { Element } from '@xmpp/xml';
import type { NodeConnection } from '../src/agent/types.js';
import { StanzaError } from '../src/agent/connection.js';
import { publishIq } from '../src/agent/pubsub.js';
import { Histogram, nowMs } from './stats.js';
import { indicatorJson } from './payloads.js';
import type { Flooded, Probed, WorkerRequest } from './fleet-types.js';

const DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_JSON = 'urn:xmpp:json:0';

function request(to: string, topic: string, i: number, tag: string): Element {
  return i % 2 === 0
    ? xml('iq', { type: 'get', to }, xml('query', { xmlns: DISCO_INFO }))
    : publishIq(to, topic, xml('json', { xmlns: NS_JSON }, indicatorJson(i)), `${tag}-${i}`);
}

export async function probe(conn: NodeConnection, r: Extract<WorkerRequest, { op: 'probe' }>): Promise<Probed> {
  const hist = new Histogram();
  const byKind = [new Histogram(), new Histogram()];
  let errors = 0;
  let firstError: string | undefined;
  const end = nowMs() + r.seconds * 1000;
  for (let i = 0; nowMs() < end; i++) {
    const t0 = nowMs();
    try {
      await conn.iq(request(r.to, r.topic, i, 'victim'), 30_000);
    } catch (err) {
      errors++;
      firstError ??= (err as Error).message;
    }
    const t1 = nowMs();
    hist.record(t1 - t0);
    byKind[i % 2]!.record(t1 - t0);
    // A steady pace, not a race: the victim is an ordinary node.
    const rest = r.intervalMs - (t1 - t0);
    if (rest > 0) await new Promise((res) => setTimeout(res, rest));
  }
  return { count: hist.total, errors, ...(firstError ? { firstError } : {}), hist: hist.toSparse(), disco: byKind[0]!.toSparse(), publish: byKind[1]!.toSparse() };
}

export async function flood(conn: NodeConnection, r: Extract<WorkerRequest, { op: 'flood' }>): Promise<Flooded> {
  const refused: Record<string, number> = {};
  let sent = 0;
  let answered = 0;
  const t0 = nowMs();
  const end = t0 + r.seconds * 1000;
  await Promise.all(Array.from({ length: r.window }, async () => {
    while (nowMs() < end) {
      const i = sent++;
      try {
        await conn.iq(request(r.to, r.topic, i, 'flood'), 30_000);
        answered++;
      } catch (err) {
        const key = err instanceof StanzaError ? `${err.type} ${err.condition}${err.appCondition ? ` ${err.appCondition.name}` : ''}` : (err as Error).message.slice(0, 60);
        refused[key] = (refused[key] ?? 0) + 1;
      }
    }
  }));
  return { sent, answered, seconds: +((nowMs() - t0) / 1000).toFixed(2), refused };
}
