// POST …/objects/ (PROTOCOL §13 "Adding objects"): each object validated as on the XMPP side,
// the valid ones not already stored published as ONE item by the account's JID through the
// core (so XMPP subscribers are notified, filtered and cut as for any publish), and a status
// resource kept durably before the 202.
import { randomUUID } from 'node:crypto';
import type { PolicySubject } from '../policy/types.js';
import { stixObjectError } from '../payloads/index.js';
import type { ItemService } from '../topics/items.js';
import { formatMicros, parseMicros } from '../topics/micros.js';
import { isFail, type Fail } from '../result.js';
import type { TopicObjects } from './object-index.js';
import type { StatusResource } from './status-store.js';

export type AddOutcome =
  | { ok: true; status: StatusResource }
  | { ok: false; http: 400 | 422; text: string }
  | { ok: false; fail: Fail };

function versionOf(o: Record<string, unknown>): string | undefined {
  return typeof o.modified === 'string' ? o.modified : typeof o.created === 'string' ? o.created : undefined;
}

/** True when (id, version) is stored in the topic (any account's cap: the poster holds the object). */
function stored(t: TopicObjects, id: string, version: string | undefined): boolean {
  const us = version !== undefined ? parseMicros(version) : undefined;
  if (us === undefined) return false;
  return (t.byId.get(id) ?? []).some((e) => e.versionUs === us && t.live(e));
}

export async function addObjects(items: ItemService, subject: PolicySubject, topic: string, t: TopicObjects, body: string, now: Date): Promise<AddOutcome> {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    return { ok: false, http: 400, text: `the body is not JSON: ${(err as Error).message}` };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !Array.isArray((doc as { objects?: unknown }).objects)) {
    return { ok: false, http: 400, text: "the body is not a TAXII 2.1 envelope: a JSON object with an 'objects' list" };
  }
  const objects = (doc as { objects: unknown[] }).objects;
  const successes: StatusResource['successes'] = [];
  const failures: StatusResource['failures'] = [];
  const fresh: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i];
    const rec = typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>) : undefined;
    const id = rec && typeof rec.id === 'string' ? rec.id : `object ${i}`;
    const version = rec ? versionOf(rec) : undefined;
    const problem = stixObjectError(o);
    if (problem || !rec) {
      failures.push({ id, ...(version ? { version } : {}), message: problem ?? 'is not a JSON object' });
      continue;
    }
    const key = `${id}\0${version ?? ''}`;
    if ((version !== undefined && seen.has(key)) || stored(t, id, version)) {
      successes.push({ id, ...(version ? { version } : {}), message: 'already present' });
      continue;
    }
    seen.add(key);
    fresh.push(rec);
  }
  if (fresh.length === 0 && successes.length === 0) {
    return { ok: false, http: 422, text: `no valid STIX 2.1 object in the envelope${failures[0] ? `: ${failures[0].id}: ${failures[0].message}` : ''}` };
  }
  if (fresh.length > 0) {
    const r = await items.publish(subject, topic, undefined, { kind: 'json', text: JSON.stringify({ objects: fresh }) });
    if (isFail(r)) return { ok: false, fail: r };
    for (const o of fresh) {
      const version = versionOf(o);
      successes.push({ id: o.id as string, ...(version ? { version } : {}) });
    }
  }
  const status: StatusResource = {
    id: randomUUID(), status: 'complete', request_timestamp: formatMicros(now.getTime() * 1000),
    total_count: objects.length, success_count: successes.length, successes,
    failure_count: failures.length, failures, pending_count: 0, pendings: [],
  };
  return { ok: true, status };
}
