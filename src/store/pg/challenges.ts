// Registration challenges in PostgreSQL (table challenges, migration 2), so that the submit of
// a challenge one instance issued can reach any instance of a cluster (docs/protocol.md §14).
// The same rules as the in-memory ChallengeBook (src/accounts/challenges.ts): single use
// (consumed by DELETE … RETURNING, so two instances never both accept it), valid `ttlMs`,
// bound to one bare JID, at most `maxPerJid` open per JID (the oldest go).
import { randomBytes } from 'node:crypto';
import type pg from 'pg';

type Check = 'ok' | 'unknown' | 'expired' | 'other-jid';

export class PgChallengeBook {
  /** Inserts under way, by nonce: `stored` waits for one, `consume` of one of ours too. */
  private readonly pending = new Map<string, Promise<void>>();
  private lastSweep = 0;

  constructor(
    private readonly db: pg.Pool,
    private readonly ttlMs = 300_000,
    private readonly now: () => number = Date.now,
    private readonly maxPerJid = 4,
  ) {}

  issue(bareJid: string): string {
    const nonce = randomBytes(24).toString('base64url');
    const t = this.now();
    const sweep = t - this.lastSweep > 10_000;
    if (sweep) this.lastSweep = t;
    const p = (async () => {
      await this.db.query('INSERT INTO challenges (nonce, jid, issued, expires) VALUES ($1, $2, $3, $4)', [nonce, bareJid, t, t + this.ttlMs]);
      // The oldest beyond maxPerJid go (a flood from one JID must not grow the table without bound).
      await this.db.query(
        `DELETE FROM challenges WHERE jid = $1 AND nonce IN (
           SELECT nonce FROM challenges WHERE jid = $1 ORDER BY issued DESC OFFSET $2)`, [bareJid, this.maxPerJid]);
      if (sweep) await this.db.query('DELETE FROM challenges WHERE expires <= $1', [t]);
    })();
    this.pending.set(nonce, p);
    const done = () => void this.pending.delete(nonce);
    p.then(done, done);
    return nonce;
  }

  /** Rejects when the challenge could not be stored (PostgreSQL unreachable): do not hand it out. */
  async stored(nonce: string): Promise<void> {
    await this.pending.get(nonce);
  }

  async consume(nonce: string, bareJid: string): Promise<Check> {
    await this.pending.get(nonce)?.catch(() => undefined);
    const r = await this.db.query<{ jid: string; expires: string }>('DELETE FROM challenges WHERE nonce = $1 RETURNING jid, expires', [nonce]);
    const e = r.rows[0];
    if (!e) return 'unknown';
    if (Number(e.expires) <= this.now()) return 'expired';
    if (e.jid !== bareJid) return 'other-jid';
    return 'ok';
  }
}
