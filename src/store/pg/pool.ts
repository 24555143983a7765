// The connection pool of the PostgreSQL store, and its schema brought up to date.
import pg from 'pg';
import type { Logger } from '../../log.js';
import { migrate } from './migrate.js';
import { redactUrl } from './redact.js';

export interface PgPoolOptions {
  log?: Logger;
  /** Connections in the pool (default 10). */
  max?: number;
}

export { redactUrl };

export async function openPgPool(url: string, opts: PgPoolOptions = {}): Promise<pg.Pool> {
  // Bounded waits: a server that went away makes a write fail (refused, never acknowledged)
  // within seconds instead of holding a publish until the node gives up.
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, connectionTimeoutMillis: 3000, query_timeout: 15_000 });
  // An idle client's error (the server restarted) must not crash the process: log it; the
  // pool replaces the client, and the next query reports the outage to its caller.
  pool.on('error', (e) => opts.log?.warn({ err: e.message, db: redactUrl(url) }, 'PostgreSQL connection lost'));
  try {
    const m = await migrate(pool);
    if (m.to !== m.from) opts.log?.info({ db: redactUrl(url), from: m.from, to: m.to }, 'PostgreSQL schema migrated');
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
  return pool;
}

/**
 * A client of the pool held for several statements. pg-pool takes its own 'error' listener off
 * a client while it is checked out, and pg emits 'error' when the connection ends under it (the
 * server was restarted or killed): with no listener, that is an uncaught exception, and the
 * controller stops. Found by the cluster's PostgreSQL-restart test, where an instance holding a
 * transaction's client at the moment of the kill went down. So the client carries a listener of
 * ours for as long as it is out; the loss also fails the statement in flight (or the next), which
 * is how the caller learns of it, and `release()` then destroys the client instead of reusing it.
 */
export async function checkout(pool: pg.Pool): Promise<{ c: pg.PoolClient; release: (err?: Error) => void }> {
  const c = await pool.connect();
  let lost: Error | undefined;
  const onError = (e: Error) => void (lost ??= e);
  c.on('error', onError);
  let released = false;
  return {
    c,
    release: (err?: Error) => {
      if (released) return;
      released = true;
      c.off('error', onError);
      c.release(err ?? lost);
    },
  };
}

/**
 * Runs `fn` in a transaction on a client of the pool. A client whose connection died while it
 * sat idle (the server restarted) fails at BEGIN, before anything of ours was sent: that one
 * is dropped and the transaction starts again on a new connection. Any later failure rolls
 * back and is the caller's (nothing was acknowledged); a failed client is never reused.
 */
export async function withTransaction<R>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<R>): Promise<R> {
  for (let attempt = 0; ; attempt++) {
    const { c, release } = await checkout(pool);
    try {
      await c.query('BEGIN');
    } catch (e) {
      release(e as Error);
      if (attempt === 0) continue;
      throw e;
    }
    try {
      const r = await fn(c);
      await c.query('COMMIT');
      release();
      return r;
    } catch (e) {
      let broken: Error | undefined;
      await c.query('ROLLBACK').catch((re: Error) => void (broken = re));
      release(broken);
      throw e;
    }
  }
}

/** The advisory locks instances take turns on (two-key form: the class is "GRID"; migrations use the one-key form). */
export const ADVISORY_LOCKS = { 'revocation-sweep': 1, 'policy-recheck': 2 } as const;
export type AdvisoryLock = keyof typeof ADVISORY_LOCKS;
const LOCK_CLASS = 0x47524944;

/**
 * Runs `fn` holding a session-level advisory lock on a client of its own: the instances of a
 * cluster that ask for the same lock take turns. The lock belongs to the session, so an
 * instance killed while holding it frees it with its connection; a lost connection fails the
 * wait (or the unlock) and the client is destroyed, never reused.
 */
export async function withAdvisoryLock<R>(pool: pg.Pool, lock: AdvisoryLock, fn: () => Promise<R>): Promise<R> {
  const { c, release } = await checkout(pool);
  try {
    await c.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS, ADVISORY_LOCKS[lock]]);
  } catch (e) {
    release(e as Error);
    throw e;
  }
  try {
    return await fn();
  } finally {
    await c.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, ADVISORY_LOCKS[lock]]).then(() => release(), (e: Error) => release(e));
  }
}
