// CSRF defence for the console's two POST actions, three layers:
// 1. a session cookie (random, HttpOnly, Secure, SameSite=Strict, Path=/admin): a cross-site
//    form post does not carry it;
// 2. the form's token is an HMAC of that session and the administrator's JID under a key that
//    lives only in this process: a page of another site cannot read it, a token of one admin is
//    worthless to another, and a restart invalidates every token;
// 3. the request's Origin must be this server's (the Host it was sent to, or taxii.public_url).
// Browsers resend HTTP Basic credentials and client certificates to any site's requests, so the
// credentials alone prove nothing about intent; these do.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'grid_console';
const SESSION_RE = /^[A-Za-z0-9_-]{24}$/;

export class Csrf {
  private readonly key = randomBytes(32);

  newSession(): string {
    return randomBytes(18).toString('base64url');
  }

  isSession(s: unknown): s is string {
    return typeof s === 'string' && SESSION_RE.test(s);
  }

  token(session: string, jid: string): string {
    return createHmac('sha256', this.key).update(`${session}\n${jid}`).digest('base64url');
  }

  /** True when `token` is the one this session and JID were given. */
  check(session: unknown, jid: string, token: unknown): boolean {
    if (!this.isSession(session) || typeof token !== 'string') return false;
    const want = Buffer.from(this.token(session, jid));
    const got = Buffer.from(token);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

/** The Origin header names this server: `https://<Host>` as the request was sent, or the public URL's origin. */
export function sameOrigin(origin: string | undefined, host: string | undefined, publicUrl?: string): boolean {
  if (!origin || origin === 'null') return false;
  if (host && origin === `https://${host}`) return true;
  if (publicUrl) {
    try {
      return origin === new URL(publicUrl).origin;
    } catch {
      return false;
    }
  }
  return false;
}
