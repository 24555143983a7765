// Per-account rate limits on the HTTPS server (README "Rate limits"): the same limiter (and
// so the same buckets, refusal counters, audit lines and suspension) as the XMPP door. An
// identified account's request takes an IQ token (a POST of objects also a publish token and
// its body's bytes): over the rate it is held up to the account's delay_ms, beyond that
// refused, 429 with Retry-After. A request whose credentials fail (no or bad certificate, bad
// token, not approved) takes a token from its source address instead, so a flood of bad
// tokens is refused per address without touching any account's buckets.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ADDRESS_KEY_PREFIX, type RequestCost } from '../limits/index.js';
import { isFail, type Fail } from '../result.js';

/** What the HTTPS server asks of the rate limiter (src/limits RateLimiter). */
export interface HttpsLimiter {
  admit(key: string, cost: RequestCost, opts?: { hold?: boolean }): Fail | number | null;
}

export interface HttpsLimits {
  limiter: HttpsLimiter;
  /** Renders a refusal (the TAXII door's error message); Retry-After is already set. */
  refuse: (reply: FastifyReply, f: Fail) => FastifyReply;
}

/** The limiter's key for requests without a usable identity, per source address. */
export function addressKey(ip: string): string {
  return `${ADDRESS_KEY_PREFIX}${ip}`;
}

const REQUEST: RequestCost = { publish: false, payloadBytes: 0 };

/** A TAXII POST of objects publishes its body; every other request is one request. */
export function httpsCost(req: FastifyRequest): RequestCost {
  if (req.method !== 'POST' || !/\/objects\/?(\?|$)/.test(req.url)) return REQUEST;
  const n = Number(req.headers['content-length'] ?? 0);
  return { publish: true, payloadBytes: Number.isFinite(n) && n > 0 ? n : 0 };
}

/** Seconds for Retry-After (RFC 9110 §10.2.3): from the refusal's "retry in N ms", at least 1. */
export function retryAfterS(f: Fail): number {
  const m = /retry in (\d+) ms/.exec(f.text ?? '');
  return Math.max(1, Math.ceil((m ? Number(m[1]) : 1000) / 1000));
}

/**
 * null: go on (after any hold). Else the reply already sent (429 + Retry-After).
 * `jid` null: the request's credentials failed, and its source address pays.
 */
export async function limitRequest(l: HttpsLimits, req: FastifyRequest, reply: FastifyReply, jid: string | null): Promise<FastifyReply | null> {
  const r = jid === null ? l.limiter.admit(addressKey(req.ip), REQUEST, { hold: false }) : l.limiter.admit(jid, httpsCost(req));
  if (r === null) return null;
  if (isFail(r)) {
    void reply.header('retry-after', String(retryAfterS(r)));
    return l.refuse(reply, r);
  }
  await new Promise((resolve) => setTimeout(resolve, r));
  return null;
}
