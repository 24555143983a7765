// A grid node's XMPP connection: TLS with the node's X.509 certificate, SASL EXTERNAL, bind,
// initial presence. Assembled from @xmpp/client's parts rather than client(), so that no
// password mechanism exists to fall back to and STARTTLS can present the certificate.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { ConnectionOptions } from 'node:tls';
import { Client } from '@xmpp/client-core';
import xml from '@xmpp/xml';
import type { Element } from '@xmpp/xml';
import tcp from '@xmpp/tcp';
import tls from '@xmpp/tls';
import middlewareFactory from '@xmpp/middleware';
import streamFeaturesFactory from '@xmpp/stream-features';
import iqCallerFactory from '@xmpp/iq/caller.js';
import iqCalleeFactory from '@xmpp/iq/callee.js';
import resourceBinding from '@xmpp/resource-binding';
import sessionEstablishment from '@xmpp/session-establishment';
import { SaslFailure, useSaslExternal } from './sasl-external.js';
import { useStartTls } from './starttls.js';
import { StanzaBuffer } from './stanza-buffer.js';
import { IqRequests } from './iq-requests.js';
import type { ConnectFailure, ConnectNodeOptions, NodeConnection } from './types.js';
import { NS } from './ns.js';

export { StanzaError, parseStanzaError } from './stanza-error.js';
export { SaslFailure } from './sasl-external.js';
export type * from './types.js';

/** connectNode could not bring the node online; `failure` says at which step. */
export class NodeConnectError extends Error {
  override readonly name = 'NodeConnectError';
  constructor(readonly failure: ConnectFailure, message: string, readonly condition?: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const TLS_ERROR = /certificate|self[- ]signed|altname|handshake|tls|ssl|alert/i;

function classify(err: unknown, service: string): NodeConnectError {
  if (err instanceof NodeConnectError) return err;
  const e = err as Error & { code?: string };
  const msg = e?.message ?? String(err);
  if (err instanceof SaslFailure) {
    return new NodeConnectError('sasl', `${service} refused the certificate login: ${msg}`, err.condition, { cause: err });
  }
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND' || e?.code === 'ECONNRESET') {
    return new NodeConnectError('connect', `cannot reach ${service}: ${msg}`, e.code, { cause: err });
  }
  if ((e?.code && /^(ERR_TLS|ERR_SSL|UNABLE_|CERT_|DEPTH_|SELF_)/.test(e.code)) || TLS_ERROR.test(msg)) {
    return new NodeConnectError('tls', `TLS with ${service} failed: ${msg}`, e?.code, { cause: err });
  }
  return new NodeConnectError('stream', `XMPP stream with ${service} failed: ${msg}`, e?.code, { cause: err });
}

function pem(text: string | undefined, file: string | undefined, what: string): string {
  if (text) return text;
  if (file) return readFileSync(file, 'utf8');
  throw new NodeConnectError('tls', `no client ${what}: pass ${what} or ${what}File`);
}

/** Fails early, naming the problem, instead of an OpenSSL error in the middle of a login. */
function checkCertAndKey(cert: string, key: string, opts: ConnectNodeOptions): void {
  const where = (what: 'cert' | 'key') => (opts[what] ? `${what} (PEM text)` : `${what}File ${opts[`${what}File`]}`);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new NodeConnectError('tls', `${where('cert')} is not a PEM certificate: ${(err as Error).message}`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new NodeConnectError('tls', `${where('key')} is not a PEM private key: ${(err as Error).message}`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new NodeConnectError('tls', `${where('key')} does not belong to ${where('cert')}`);
  }
}

export function tlsOptionsFor(opts: ConnectNodeOptions): ConnectionOptions {
  const cert = pem(opts.cert, opts.certFile, 'cert');
  const key = pem(opts.key, opts.keyFile, 'key');
  checkCertAndKey(cert, key, opts);
  return {
    servername: opts.domain,
    cert,
    key,
    ...(opts.ca ? { ca: opts.ca } : {}),
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
  };
}

function buildClient(opts: ConnectNodeOptions, tlsOptions: ConnectionOptions) {
  const entity = new Client({ service: opts.service, domain: opts.domain });
  tcp({ entity });
  tls({ entity });
  // Direct TLS: the transport's parameters go to tls.connect(), so add the certificate there.
  const base = entity.socketParameters.bind(entity);
  entity.socketParameters = (service: string) => {
    const params = base(service);
    return params && service.startsWith('xmpps:') ? { ...params, ...tlsOptions } : params;
  };
  const middleware = middlewareFactory({ entity });
  const streamFeatures = streamFeaturesFactory({ middleware });
  const iqCaller = iqCallerFactory({ entity, middleware });
  const iqCallee = iqCalleeFactory({ entity, middleware });
  // XEP-0199: answer pings. After an outage of its component link the controller pings the full
  // JIDs holding temporary subscriptions; a client that answers service-unavailable looks gone.
  iqCallee.get(NS.PING, 'ping', () => true);
  // Nagle off: a request written just after another would wait for the server's delayed ACK
  // (up to 40 ms on Linux). Set on the TCP socket, so it holds after STARTTLS too.
  entity.on('connect', () => {
    type NoDelay = { setNoDelay?: (on: boolean) => unknown; socket?: NoDelay } | null;
    const sock = entity.socket as NoDelay;
    sock?.setNoDelay?.(true);
    sock?.socket?.setNoDelay?.(true);
  });
  // Order is priority: TLS, then SASL, then bind (XEP-0170).
  useStartTls(streamFeatures, tlsOptions);
  useSaslExternal(streamFeatures, opts.authzid);
  resourceBinding({ iqCaller, streamFeatures }, opts.resource);
  sessionEstablishment({ iqCaller, streamFeatures });
  return Object.assign(entity, { middleware, streamFeatures, iqCaller, iqCallee });
}

/**
 * Client.start() without its flaw: it waits for 'online' with a promise of its own, and when
 * the stream fails before (a reset by a direct-TLS port spoken to in plain text) that promise
 * rejects unheard, which ends the program. Here both halves are awaited together.
 */
async function start(entity: Client, domain: string): Promise<{ toString(): string }> {
  const online = once(entity, 'online') as Promise<[{ toString(): string }]>;
  const [, [jid]] = await Promise.all([(async () => {
    await entity.connect(entity.options.service);
    await entity.open({ domain });
  })(), online]);
  return jid;
}

async function startWithin(entity: Client, domain: string, timeoutMs: number, service: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NodeConnectError('timeout', `no login to ${service} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const jid = await Promise.race([start(entity, domain), timeout]);
    return jid.toString();
  } finally {
    clearTimeout(timer);
  }
}

async function abandon(entity: Client): Promise<void> {
  const socket = entity.socket as { destroy?: () => void; socket?: { destroy(): void } } | null;
  socket?.socket?.destroy();
  socket?.destroy?.();
  await entity.disconnect(100).catch(() => undefined);
}

export async function connectNode(opts: ConnectNodeOptions): Promise<NodeConnection> {
  if (!/^xmpps?:\/\//.test(opts.service)) {
    throw new NodeConnectError('connect', `service "${opts.service}" must be xmpps://host:port or xmpp://host:port`);
  }
  const entity = buildClient(opts, tlsOptionsFor(opts));
  const buffer = new StanzaBuffer();
  entity.on('stanza', (el) => buffer.push(el));
  const requests = new IqRequests((el) => send(entity, el));
  entity.middleware.use((ctx: { stanza: Element }, next: () => Promise<unknown>) => (requests.route(ctx.stanza) ? undefined : next()));
  // Errors after login reach the caller's 'error' listeners; without one, node would throw.
  // The last one (a <stream:error/>, a socket error) is why a stream ended: requests waiting
  // then fail with it at once instead of running into their timeout.
  let lastError: (Error & { condition?: string; text?: string }) | undefined;
  entity.on('error', (err: Error) => { lastError = err; });
  entity.on('status', (status: string) => {
    if (status === 'disconnect' || status === 'offline') requests.failAll(streamClosed(opts.service, lastError));
  });
  let jid: string;
  try {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    jid = await startWithin(entity, opts.domain, timeoutMs, opts.service);
    if (opts.presence !== false) await announce(entity, buffer, jid, deadline);
  } catch (err) {
    await abandon(entity);
    throw classify(err, opts.service);
  }
  return {
    jid,
    xmpp: entity,
    iq: (el, timeoutMs) => iqRequest(requests, el, timeoutMs),
    send: (el) => entity.send(el),
    on: (event: string, fn: (...args: any[]) => void) => { entity.on(event, fn); },
    waitFor: (predicate, timeoutMs) => buffer.waitFor(predicate, timeoutMs),
    close: async () => {
      buffer.close();
      if (entity.status === 'offline') return;
      await entity.stop().catch(() => abandon(entity));
    },
  };
}

/**
 * Sends initial presence and waits for the server's echo of it (RFC 6121 §4.2.2 sends it to
 * the user's own available resources, this one included). Only then are messages to the
 * bare JID delivered: without the wait, a message sent right after connectNode() by another
 * node can overtake the presence and bounce with service-unavailable.
 */
async function announce(entity: Client, buffer: StanzaBuffer, jid: string, deadline: number): Promise<void> {
  const echoed = buffer.waitFor((s) => s.name === 'presence' && s.attrs.from === jid && !s.attrs.type,
    Math.max(1, deadline - Date.now()));
  await entity.send(xml('presence'));
  await echoed.catch(() => {
    throw new NodeConnectError('timeout', `the server did not confirm the initial presence of ${jid}`);
  });
}

async function iqRequest(requests: IqRequests, el: Element, timeoutMs = 10_000): Promise<Element> {
  const type = el.attrs.type;
  if (el.name !== 'iq' || (type !== 'get' && type !== 'set')) {
    throw new TypeError(`iq() sends <iq type='get|set'>, got <${el.name} type='${type ?? ''}'>`);
  }
  return requests.request(el, timeoutMs);
}

/** Writes only on an open stream: a closed one says so instead of failing inside the socket. */
async function send(entity: Client, el: Element): Promise<void> {
  if (entity.status !== 'online') throw new NodeConnectError('stream', `not connected (the stream is ${entity.status})`);
  await entity.send(el);
}

/** Why waiting requests fail when the stream ends: the server's stream error, if it sent one. */
function streamClosed(service: string, err: (Error & { condition?: string; text?: string }) | undefined): NodeConnectError {
  const why = err?.condition ? `${err.condition}${err.text ? `: ${err.text}` : ''}` : err?.message;
  return new NodeConnectError('stream', `${service} closed the stream${why ? ` (${why})` : ''}`, err?.condition);
}
