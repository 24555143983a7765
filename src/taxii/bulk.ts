// GET /<api_root>/bulk/<token> (PROTOCOL §9, §13): the single-use, 5-minute URL a `<bulk/>`
// request got. Streams one application/stix+json;version=2.1 bundle of the objects its §7 form
// selects, after the account's TLP cap (taken again now: a revoked account gets nothing), page by
// page from the object index, so the whole answer is never held in memory.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { compileFilter } from '../filters/match.js';
import { parseFilter } from '../filters/parse.js';
import type { FilterCaps } from '../filters/types.js';
import type { PolicySubject } from '../policy/types.js';
import type { ItemStore } from '../store/types.js';
import type { BulkGrants } from '../topics/bulk.js';
import { parseMicros } from '../topics/micros.js';
import type { TopicService } from '../topics/service.js';
import { isFail } from '../result.js';
import { sendError, sendFail } from './errors.js';
import { STIX_MEDIA } from './media.js';
import type { ObjectIndex } from './object-index.js';
import { objectLoader } from './read.js';
import { Selector, type Position, type Selection } from './select.js';

export interface BulkDeps {
  grants: BulkGrants;
  topics: TopicService;
  itemStore: ItemStore;
  index: ObjectIndex;
  subjectOf: (jid: string) => PolicySubject | null;
  filterCaps: FilterCaps;
}

const PAGE = 1000;

export async function serveBulk(d: BulkDeps, token: string, reply: FastifyReply): Promise<FastifyReply> {
  const g = d.grants.take(token);
  if (!g) return sendError(reply, 404, 'no such bulk download: the URL is used once and lasts 5 minutes');
  const subject = d.subjectOf(g.jid);
  if (!subject) return sendError(reply, 403, `${g.jid} may no longer use the grid`);
  const a = d.topics.check(subject, 'bulk', g.topic);
  if (isFail(a)) return sendFail(reply, a);
  const cap = { ...(a.decision.maxTlp ? { maxTlp: a.decision.maxTlp } : {}), ...(a.decision.unmarked ? { unmarked: a.decision.unmarked } : {}) };
  let grid = null;
  if (g.query.filter && Object.keys(g.query.filter).length) {
    const p = parseFilter(g.query.filter, a.topic, d.filterCaps);
    if (isFail(p)) return sendError(reply, 400, p.text ?? p.fail);
    grid = compileFilter(p.value, a.topic.filterFields);
  }
  const addedAfter = g.query.addedAfter !== undefined ? parseMicros(g.query.addedAfter) : undefined;
  const selection: Selection = { ...(addedAfter !== undefined ? { addedAfter } : {}), version: { all: true, first: false, last: false, at: new Set() }, grid };
  const t = await d.index.of(a.topic.name);
  const afterSeq = g.query.afterSeq !== undefined ? Number(g.query.afterSeq) : undefined;
  async function* body(): AsyncGenerator<string> {
    yield `{"type":"bundle","id":"bundle--${randomUUID()}","objects":[`;
    let from: Position | undefined = afterSeq !== undefined ? { seq: afterSeq, k: Number.MAX_SAFE_INTEGER } : undefined;
    let first = true;
    for (;;) {
      const load = objectLoader(d.itemStore, t.topic);
      const sel = new Selector(t, cap, load);
      const page = sel.page(selection, PAGE, from);
      const parts: string[] = [];
      for (const e of page.entries) {
        const o = load(e);
        if (o) parts.push(JSON.stringify(o));
      }
      if (parts.length) {
        yield `${first ? '' : ','}${parts.join(',')}`;
        first = false;
      }
      if (!page.more || !page.next) break;
      from = page.next;
      await new Promise<void>((r) => setImmediate(r));
    }
    yield ']}';
  }
  return reply.code(200).header('content-type', STIX_MEDIA).send(Readable.from(body()));
}
