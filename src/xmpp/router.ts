// The IQ routing table: (type, namespace, element) → handler, and the approval gate.
// Plugged into @xmpp's middleware *behind* its IQ callee, which owns the reply: a handler
// returns the payload element, `true` for an empty result, or a Fail (mapped to <error/>
// by errors.ts). A thrown exception becomes internal-server-error and is logged; nothing
// here throws at the caller, and every get/set gets exactly one answer.
//
// Per-account limits (README "Rate limits") come right after the gate, before any work: a request over the
// account's rates is answered wait + policy-violation at once; one admitted waits for a slot
// in its account's lane of the fair queue, so a flooding account's backlog delays only its own
// requests (a full lane: wait + resource-constraint).
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import type { MiddlewareContext } from '@xmpp/xmpp-common';
import type { Logger } from '../log.js';
import { fail, isFail, type Fail } from '../result.js';
import { errorElement } from './errors.js';
import { NS } from './ns.js';
import { bareJid } from '../jid.js';
import type { FairQueue, LaneLimits, RequestCost } from '../limits/index.js';

export interface IqRequest {
  readonly stanza: Element;
  /** The single child of the iq. */
  readonly element: Element;
  readonly type: 'get' | 'set';
  /** The full JID the server stamped: the only identity the controller trusts. */
  readonly from: string;
  readonly bare: string;
  readonly to: string;
}

export type IqReply = Element | true | Fail;
export type IqHandler = (req: IqRequest) => IqReply | Promise<IqReply>;
/** Answers null when the JID may use the grid, else the §1 error. */
export type Gate = (bareJid: string) => Fail | null;
/** What the router asks of the rate limiter (src/limits). */
export interface RequestLimits {
  /** null admits the request (its tokens are taken); else the refusal. */
  admit(bareJid: string, cost: RequestCost, opts?: { hold?: boolean }): Fail | number | null;
  /** Counts and words a refusal for a full lane. */
  queueFull(bareJid: string): Fail;
  limitsOf(bareJid: string): LaneLimits;
}
export type MessageHandler = (stanza: Element, from: string) => void | Promise<void>;

interface Route {
  handler: IqHandler;
  /** Exempt from the approval gate (registration, disco#info on the controller, ping). */
  exempt: (req: IqRequest) => boolean;
}

export class Router {
  private readonly routes = new Map<string, Route>();
  private readonly messageHandlers: MessageHandler[] = [];
  private readonly presenceHandlers: ((stanza: Element, from: string) => void)[] = [];
  private gate: Gate = () => null;
  private limits: { limiter: RequestLimits; queue: FairQueue } | undefined;

  constructor(private readonly log: Logger) {}

  setGate(gate: Gate): void {
    this.gate = gate;
  }

  private sync: (() => Promise<void>) | undefined;

  /** A cluster: before refusing at the gate, catch up with the other instances' changes once. */
  setSync(sync: () => Promise<void>): void {
    this.sync = sync;
  }

  /** Without limits (protocol tests), every request runs at once. */
  setLimits(limiter: RequestLimits, queue: FairQueue): void {
    this.limits = { limiter, queue };
  }

  iq(type: 'get' | 'set', ns: string, name: string, handler: IqHandler, opts: { exempt?: boolean | ((req: IqRequest) => boolean) } = {}): void {
    const key = routeKey(type, ns, name);
    if (this.routes.has(key)) throw new Error(`route ${key} registered twice`);
    const e = opts.exempt ?? false;
    this.routes.set(key, { handler, exempt: typeof e === 'function' ? e : () => e });
  }

  onMessage(fn: MessageHandler): void {
    this.messageHandlers.push(fn);
  }

  /** Presence to the controller (directed presence of nodes; the server's unavailable at their logout). */
  onPresence(fn: (stanza: Element, from: string) => void): void {
    this.presenceHandlers.push(fn);
  }

  /** The middleware function: installed with entity.middleware.use(). */
  readonly middleware = async (ctx: MiddlewareContext, next: () => Promise<unknown>): Promise<unknown> => {
    const { stanza } = ctx;
    if (stanza.name === 'message') {
      const refused = this.admitMessage(stanza);
      if (refused) return refused; // the middleware's caller sends it
      await this.dispatchMessage(stanza);
      return undefined;
    }
    if (stanza.name === 'presence') {
      this.dispatchPresence(stanza);
      return undefined;
    }
    if (stanza.name !== 'iq' || !ctx.element || (ctx.type !== 'get' && ctx.type !== 'set')) return next();
    return this.dispatchIq(ctx.type, stanza, ctx.element);
  };

  async dispatchIq(type: 'get' | 'set', stanza: Element, element: Element): Promise<Element | true> {
    const from = stanza.attrs.from;
    if (!from) return errorElement(fail('bad-request', 'stanza without from'));
    const req: IqRequest = { stanza, element, type, from, bare: bareJid(from), to: stanza.attrs.to ?? '' };
    const route = this.routes.get(routeKey(type, element.getNS() ?? '', element.name));
    if (!route) {
      // RFC 6120 §8.4: an IQ whose payload namespace we do not serve.
      return errorElement(fail('service-unavailable'));
    }
    try {
      if (!route.exempt(req)) {
        let denied = this.gate(req.bare);
        // A cluster (§14): the account may just have been approved on another instance.
        if (denied && this.sync) {
          await this.sync();
          denied = this.gate(req.bare);
        }
        if (denied) return errorElement(denied);
      }
      // Before any work, after the cheap answers: an unknown route or a JID the gate refuses
      // (a suspended account, too) costs nothing worth limiting.
      const limited = this.limits?.limiter.admit(req.bare, requestCost(type, element)) ?? null;
      if (isFail(limited)) return errorElement(limited);
      const reply = await this.run(req, route, limited ?? 0);
      if (reply === true) return true; // the callee answers an empty result (undefined would be service-unavailable)
      if (isFail(reply)) return errorElement(reply);
      return reply;
    } catch (err) {
      this.log.error({ err, from, ns: element.getNS(), el: element.name, id: stanza.attrs.id }, 'iq handler failed');
      return errorElement(fail('internal'));
    }
  }

  /**
   * `delayMs` > 0: over its rate, the request is held that long in its account's lane first.
   * A request that waited (held, or queued behind its account's others) passes the gate again
   * when its turn comes: the account may have been suspended (by this very flood) or revoked
   * meanwhile, and then it gets that answer instead of being worked on (without this, the
   * handlers' own checks answered registration-required, and one that checks nothing would
   * have done the work). The gate is a lookup: one that did not wait just passes it twice.
   */
  private run(req: IqRequest, route: Route, delayMs: number): Promise<IqReply> | IqReply {
    if (!this.limits) return route.handler(req);
    const { limiter, queue } = this.limits;
    const exempt = route.exempt(req);
    return queue.runAfter(req.bare, limiter.limitsOf(req.bare), delayMs, () => (exempt ? null : this.gate(req.bare)) ?? route.handler(req)) ?? limiter.queueFull(req.bare);
  }

  /**
   * Issue 16: an account's messages take from the same request bucket as its IQs, before any
   * handler runs, and count toward its suspension like refused IQs (the limiter logs and
   * audits per interval). Over the rate, RFC 6120 §8.3: an error message back, wait +
   * policy-violation with the limit in the text. Never for type='error' (§8.3.1: no error
   * in reply to an error; the server's bounces of our notifications come from the node's
   * JID, so counting them would punish an offline node), nor for JIDs the gate refuses
   * (their messages do nothing: limiting them would cost more than it saves).
   */
  private admitMessage(stanza: Element): Element | null {
    const from = stanza.attrs.from;
    if (!this.limits || !from || stanza.attrs.type === 'error') return null;
    const bare = bareJid(from);
    if (this.gate(bare)) return null;
    // A message has no answer to hold: over the rate it is refused at once.
    const limited = this.limits.limiter.admit(bare, { publish: false, payloadBytes: 0 }, { hold: false });
    if (!isFail(limited)) return null;
    return xml('message', { type: 'error', to: from, ...(stanza.attrs.to ? { from: stanza.attrs.to } : {}), ...(stanza.attrs.id ? { id: stanza.attrs.id } : {}) },
      errorElement(limited));
  }

  /** Synchronous, so what a handler starts is queued in stanza order (before a later IQ's work). */
  private dispatchPresence(stanza: Element): void {
    const from = stanza.attrs.from;
    if (!from) return;
    for (const fn of this.presenceHandlers) {
      try {
        fn(stanza, from);
      } catch (err) {
        this.log.error({ err, from }, 'presence handler failed');
      }
    }
  }

  private async dispatchMessage(stanza: Element): Promise<void> {
    const from = stanza.attrs.from;
    if (!from) return;
    for (const fn of this.messageHandlers) {
      try {
        await fn(stanza, from);
      } catch (err) {
        this.log.error({ err, from }, 'message handler failed');
      }
    }
  }
}

/** A publish costs a publish token and its payload's UTF-8 bytes besides the IQ token. */
export function requestCost(type: 'get' | 'set', element: Element): RequestCost {
  const publish = type === 'set' && element.name === 'pubsub' && element.getNS() === NS.PUBSUB ? element.getChild('publish') : undefined;
  if (!publish) return { publish: false, payloadBytes: 0 };
  const payload = publish.getChild('item')?.getChildElements()[0];
  return { publish: true, payloadBytes: payload ? Buffer.byteLength(payload.toString(), 'utf8') : 0 };
}

export function routeKey(type: string, ns: string, name: string): string {
  return `${type} {${ns}}${name}`;
}

