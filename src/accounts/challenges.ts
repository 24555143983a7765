// Registration challenges (PROTOCOL §2): single use, valid 300 s, bound to one bare JID.
import { randomBytes } from 'node:crypto';

interface Entry {
  jid: string;
  expires: number;
}

export class ChallengeBook {
  private readonly open = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = 300_000,
    private readonly now: () => number = Date.now,
    /** Bounds memory under a flood of `get`s; the oldest challenges go first. */
    private readonly maxOpen = 100_000,
  ) {}

  issue(bareJid: string): string {
    this.sweep();
    const nonce = randomBytes(24).toString('base64url');
    this.open.set(nonce, { jid: bareJid, expires: this.now() + this.ttlMs });
    if (this.open.size > this.maxOpen) {
      const oldest = this.open.keys().next().value;
      if (oldest !== undefined) this.open.delete(oldest);
    }
    return nonce;
  }

  /** Uses the challenge up whatever the answer (every submission consumes it). */
  consume(nonce: string, bareJid: string): 'ok' | 'unknown' | 'expired' | 'other-jid' {
    const e = this.open.get(nonce);
    if (!e) return 'unknown';
    this.open.delete(nonce);
    if (e.expires <= this.now()) return 'expired';
    if (e.jid !== bareJid) return 'other-jid';
    return 'ok';
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, e] of this.open) {
      if (e.expires > t) break; // insertion order = expiry order (fixed ttl)
      this.open.delete(k);
    }
  }
}
