// The controller's HTTPS server (PROTOCOL §13): TLS ≥ 1.2 with optional client certificates,
// one identity per request (identity.ts), and a place for doors and the console to mount
// their routes (TAXII under /taxii2/ and /<api_root>/, the console under /admin/).
// Routes are plugins: each renders its own errors (TAXII error messages, console pages).
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type FastifyRequest } from 'fastify';
import type { AccountService } from '../accounts/service.js';
import type { Trust } from '../identity/types.js';
import type { Logger } from '../log.js';
import { certIdentity, peerChain, resolveIdentity, type CertOutcome, type Identity } from './identity.js';
import { limitRequest, type HttpsLimits } from './limits.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking, resolved once per request before any route runs. */
    grid: Identity;
  }
}

export interface HttpsOptions {
  /** host:port */
  listen: string;
  /** PEM files of the server certificate (chain may follow) and its key. */
  certFile: string;
  keyFile: string;
  /** Accept HTTP Basic with per-account tokens besides client certificates. */
  basic: boolean;
  /** Largest request body in bytes (a route may set a smaller one); larger → 413. */
  bodyLimit: number;
  accounts: AccountService;
  trust: () => Trust;
  log: Logger;
  /** Per-account rate limits (limits.ts); absent: none. */
  limits?: HttpsLimits;
  now?: () => Date;
}

export interface GridHttps {
  readonly app: FastifyInstance;
  /** Registers a route plugin; call before listen(). `prefix` e.g. '/admin'. */
  mount(plugin: FastifyPluginAsync, prefix?: string): void;
  /** Starts listening; resolves with the bound https://host:port. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export class HttpsStartError extends Error {}

export function createHttps(o: HttpsOptions): GridHttps {
  let key: string;
  let cert: string;
  try {
    cert = readFileSync(o.certFile, 'utf8');
    key = readFileSync(o.keyFile, 'utf8');
  } catch (err) {
    throw new HttpsStartError(`taxii.cert/taxii.key: ${(err as Error).message}`);
  }
  const log = o.log;
  // Typed as a plain FastifyInstance so route plugins need no HTTPS-specific generics.
  const app = Fastify({
    https: {
      key, cert, minVersion: 'TLSv1.2',
      // Ask for a certificate but let the handshake finish without one (Basic may follow):
      // every request is then judged by certIdentity, which checks chain and CRL as §2 does.
      requestCert: true, rejectUnauthorized: false,
      ca: o.trust().anchors.map((a) => a.cert.x509.toString()),
    },
    loggerInstance: log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.bodyLimit,
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  // One verification per TLS connection and trust generation (a CRL reload makes a new Trust).
  const verified = new WeakMap<TLSSocket, { trust: Trust; outcome: CertOutcome }>();
  const certOf = (req: FastifyRequest): CertOutcome => {
    const socket = req.raw.socket as TLSSocket;
    const trust = o.trust();
    const hit = verified.get(socket);
    if (hit && hit.trust === trust) return hit.outcome;
    const outcome = certIdentity(peerChain(socket), trust, o.now?.() ?? new Date());
    verified.set(socket, { trust, outcome });
    return outcome;
  };
  app.decorateRequest('grid', null as unknown as never);
  app.addHook('onRequest', async (req, reply) => {
    req.grid = resolveIdentity({ accounts: o.accounts, trust: o.trust, basic: o.basic }, certOf(req), req.headers.authorization);
    if (!req.grid.ok) log.info({ method: req.method, url: req.url, status: req.grid.status, jid: req.grid.jid, reason: req.grid.reason }, 'https request refused');
    // Before any route's work: an account's request against its rates, a failed one against its address.
    if (o.limits) return (await limitRequest(o.limits, req, reply, req.grid.ok ? req.grid.jid : null)) ?? undefined;
    return undefined;
  });
  app.addHook('onResponse', async (req, reply) => {
    log.debug({ method: req.method, url: req.url, status: reply.statusCode, jid: req.grid?.ok ? req.grid.jid : undefined, ms: Math.round(reply.elapsedTime) }, 'https request');
  });
  return {
    app,
    mount(plugin, prefix) {
      void app.register(plugin, prefix ? { prefix } : {});
    },
    async listen() {
      const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(o.listen);
      if (!m) throw new HttpsStartError(`taxii.listen: must be host:port, got ${o.listen}`);
      try {
        await app.listen({ host: m[1]!, port: Number(m[2]) });
      } catch (err) {
        throw new HttpsStartError(`taxii.listen ${o.listen}: ${(err as Error).message}`);
      }
      const a = app.server.address();
      const port = a && typeof a === 'object' ? a.port : Number(m[2]);
      const host = m[1]!.includes(':') ? `[${m[1]}]` : m[1]!;
      return `https://${host}:${port}`;
    },
    async close() {
      await app.close();
    },
  };
}

/** 401 answers carry the challenge §13 names. */
export const WWW_AUTHENTICATE = 'Basic realm="xmpp-grid"';
