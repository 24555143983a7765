// Registration challenges (PROTOCOL §2): single use, valid 300 s, bound to one bare JID.
// Bounded: at most `maxPerJid` open per JID (a flood of registration gets from one JID
// must not push out other nodes' challenges) and `maxOpen` in all.
import { randomBytes } from 'node:crypto';

export type ChallengeCheck = 'ok' | 'unknown' | 'expired' | 'other-jid';

/**
 * Where challenges are kept: this process (ChallengeBook), or a store shared by the instances
 * of a cluster (store/pg/challenges.ts), where `issue` starts the write and `stored` waits for
 * it: a challenge is handed out only once any instance can check it.
 */
export interface Challenges {
  issue(bareJid: string): string;
  stored?(nonce: string): Promise<void>;
  consume(nonce: string, bareJid: string): ChallengeCheck | Promise<ChallengeCheck>;
}

interface Entry {
  jid: string;
  expires: number;
}

export class ChallengeBook implements Challenges {
  private readonly open = new Map<string, Entry>();
  private readonly byJid = new Map<string, string[]>();

  constructor(
    private readonly ttlMs = 300_000,
    private readonly now: () => number = Date.now,
    private readonly maxOpen = 100_000,
    private readonly maxPerJid = 4,
  ) {}

  issue(bareJid: string): string {
    this.sweep();
    for (let mine = this.byJid.get(bareJid) ?? []; mine.length >= this.maxPerJid; mine = this.byJid.get(bareJid) ?? []) {
      this.drop(mine[0]!);
    }
    const nonce = randomBytes(24).toString('base64url');
    this.open.set(nonce, { jid: bareJid, expires: this.now() + this.ttlMs });
    this.byJid.set(bareJid, [...(this.byJid.get(bareJid) ?? []), nonce]);
    if (this.open.size > this.maxOpen) {
      const oldest = this.open.keys().next().value;
      if (oldest !== undefined) this.drop(oldest);
    }
    return nonce;
  }

  /** Uses the challenge up whatever the answer (every submission consumes it). */
  consume(nonce: string, bareJid: string): 'ok' | 'unknown' | 'expired' | 'other-jid' {
    const e = this.open.get(nonce);
    if (!e) return 'unknown';
    this.drop(nonce);
    if (e.expires <= this.now()) return 'expired';
    if (e.jid !== bareJid) return 'other-jid';
    return 'ok';
  }

  get size(): number {
    return this.open.size;
  }

  private drop(nonce: string): void {
    const e = this.open.get(nonce);
    if (!e) return;
    this.open.delete(nonce);
    const rest = (this.byJid.get(e.jid) ?? []).filter((n) => n !== nonce);
    if (rest.length) this.byJid.set(e.jid, rest);
    else this.byJid.delete(e.jid);
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, e] of this.open) {
      if (e.expires > t) break; // insertion order = expiry order (fixed ttl)
      this.drop(k);
    }
  }
}
