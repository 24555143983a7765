// The TAXII 2.1 door (PROTOCOL §13) as route plugins of the shared HTTPS server: discovery
// under /taxii2/, the API root under /<api_root>/. Every request: identity (401/403) →
// content negotiation (406) → policy through the core → the resource. Errors are TAXII
// error messages, always application/taxii+json;version=2.1. Imports the core and src/https
// only, never another door.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { join } from 'node:path';
import type { GridHttps } from '../https/index.js';
import type { Logger } from '../log.js';
import { audit } from '../log.js';
import type { ItemStore } from '../store/types.js';
import type { FilterCaps } from '../filters/types.js';
import type { ItemService } from '../topics/items.js';
import type { TopicService } from '../topics/service.js';
import { isFail } from '../result.js';
import { Collections } from './collections.js';
import { sendError, sendFail } from './errors.js';
import { accepts, isTaxiiBody, TAXII_MEDIA } from './media.js';
import { ObjectIndex } from './object-index.js';
import { parsePageRequest, type Endpoint, type Query } from './params.js';
import { read } from './read.js';
import { addObjects } from './add.js';
import { StatusStore } from './status-store.js';

export interface TaxiiDeps {
  /** The controller's JID (collection ids). */
  domain: string;
  /** Absolute base of discovery's URLs (known once the server listens). */
  publicUrl: () => string;
  apiRoot: string;
  pageDefault: number;
  pageMax: number;
  topics: TopicService;
  items: ItemService;
  itemStore: ItemStore;
  /** limits.payload_bytes: max_content_length. */
  payloadLimit: () => number;
  filterCaps: FilterCaps;
  dataDir: string;
  log: Logger;
  now?: () => Date;
}

export interface TaxiiDoor {
  readonly index: ObjectIndex;
  close(): void;
}

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Query }>;

export function mountTaxii(https: GridHttps, d: TaxiiDeps): TaxiiDoor {
  const index = new ObjectIndex(d.itemStore);
  const collections = new Collections(d.topics, d.domain);
  const statuses = new StatusStore(join(d.dataDir, 'taxii-status'), d.log);
  const now = d.now ?? (() => new Date());
  const root = () => `${d.publicUrl()}/${d.apiRoot}/`;

  /** Identity, then Accept: shared by both plugins (and their 404s). */
  const gate = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.grid.ok) return sendError(reply, req.grid.status, req.grid.status === 401 ? 'authentication required: a client certificate of the grid or HTTP Basic with an account token' : `the account may not use the grid: ${req.grid.reason}`);
    if (!accepts(req.headers.accept, 'taxii')) return sendError(reply, 406, `this server answers ${TAXII_MEDIA}; Accept was ${String(req.headers.accept).slice(0, 100)}`);
    return undefined;
  };
  const common = (app: FastifyInstance) => {
    app.addHook('onRequest', gate);
    app.setNotFoundHandler(async (req, reply) => (await gate(req, reply)) ?? sendError(reply, 404, `no TAXII resource at ${req.url.split('?')[0]!.slice(0, 200)}`));
    app.setErrorHandler(async (err: Error & { statusCode?: number }, req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
      if (status >= 500) d.log.error({ err, url: req.url }, 'TAXII request failed');
      return sendError(reply, status, status >= 500 ? 'internal error' : err.message);
    });
    // Bodies are read as text and checked here: another media type is 415 (not fastify's default).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  };
  const json = (reply: FastifyReply, body: unknown, code = 200, headers: Record<string, string> = {}) =>
    reply.code(code).headers(headers).header('content-type', TAXII_MEDIA).send(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8'));
  const subjectOf = (req: FastifyRequest) => (req.grid.ok ? req.grid.subject : (undefined as never));

  https.mount(async (app) => {
    common(app);
    app.get('/', async (req, reply) => json(reply, {
      title: `XMPP-Grid ${d.domain}`,
      description: 'TAXII 2.1 door of an XMPP-Grid controller: collections are the STIX 2.1 topics the account may discover',
      default: root(), api_roots: [root()],
    }));
  }, '/taxii2');

  https.mount(async (app) => {
    common(app);
    app.get('/', async (_req, reply) => json(reply, {
      title: `XMPP-Grid ${d.domain}`, description: 'the grid’s STIX 2.1 topics', versions: [TAXII_MEDIA], max_content_length: d.payloadLimit(),
    }));
    app.get('/collections/', async (req, reply) => {
      const list = collections.list(subjectOf(req));
      return json(reply, list.length ? { collections: list } : {});
    });
    app.get('/collections/:cid/', async (req: Req, reply) => {
      const a = collections.check(subjectOf(req), req.params.cid!, 'discover');
      if (isFail(a)) return sendFail(reply, a);
      return json(reply, collections.resource(subjectOf(req), a.topic));
    });
    const reader = (ep: (req: Req) => Endpoint) => async (req: Req, reply: FastifyReply) => {
      const cid = req.params.cid!;
      const a = collections.check(subjectOf(req), cid, 'query');
      if (isFail(a)) return sendFail(reply, a);
      const endpoint = ep(req);
      const p = parsePageRequest(req.query, endpoint, a.topic, collections.idOf(a.topic.name), { pageDefault: d.pageDefault, pageMax: d.pageMax }, d.filterCaps);
      if (!p.ok) return sendError(reply, 400, p.text);
      const t = await index.of(a.topic.name);
      const cap = { ...(a.decision.maxTlp ? { maxTlp: a.decision.maxTlp } : {}), ...(a.decision.unmarked ? { unmarked: a.decision.unmarked } : {}) };
      const r = read(t, d.itemStore, cap, endpoint, p.value);
      if (r.count === 0 && (endpoint.kind === 'object' || endpoint.kind === 'versions') && !p.value.from) {
        return sendError(reply, 404, `no object ${endpoint.id} in collection ${cid}`);
      }
      return json(reply, r.body, 200, r.headers);
    };
    app.get('/collections/:cid/objects/', reader(() => ({ kind: 'objects' })));
    app.get('/collections/:cid/manifest/', reader(() => ({ kind: 'manifest' })));
    app.get('/collections/:cid/objects/:oid/', reader((req) => ({ kind: 'object', id: req.params.oid! })));
    app.get('/collections/:cid/objects/:oid/versions/', reader((req) => ({ kind: 'versions', id: req.params.oid! })));
    app.post('/collections/:cid/objects/', { bodyLimit: d.payloadLimit() }, async (req: Req, reply) => {
      const a = collections.check(subjectOf(req), req.params.cid!, 'publish');
      if (isFail(a)) return sendFail(reply, a);
      if (!isTaxiiBody(req.headers['content-type'])) return sendError(reply, 415, `POST a TAXII 2.1 envelope as ${TAXII_MEDIA}; Content-Type was ${String(req.headers['content-type']).slice(0, 100)}`);
      const t = await index.of(a.topic.name);
      const r = await addObjects(d.items, subjectOf(req), a.topic.name, t, typeof req.body === 'string' ? req.body : '', now());
      if (!r.ok) return 'fail' in r ? sendFail(reply, r.fail) : sendError(reply, r.http, r.text);
      await statuses.put(subjectOf(req).jid, r.status);
      audit(d.log, 'taxii-add', { jid: subjectOf(req).jid, topic: a.topic.name, status: r.status.id, successes: r.status.success_count, failures: r.status.failure_count });
      return json(reply, r.status, 202);
    });
    app.get('/status/:sid/', async (req: Req, reply) => {
      const s = statuses.get(subjectOf(req).jid, req.params.sid!.toLowerCase());
      if (!s) return sendError(reply, 404, `no status ${req.params.sid}`);
      return json(reply, s);
    });
  }, `/${d.apiRoot}`);

  return { index, close: () => statuses.close() };
}
