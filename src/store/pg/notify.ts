// The cluster's change feed (docs/protocol.md §14): every write transaction of a PostgreSQL
// store also runs pg_notify(CHANNEL, change) — delivered to listeners only once it commits, in
// commit order — and each instance holds one dedicated connection that LISTENs and hands what
// other instances changed to the cluster wiring (src/cluster/), which re-reads those rows and
// invalidates its caches. The unit is the row (a control_rows path) or the topic (items).
//
// The connection is its own (not one of the pool's): LISTEN belongs to a session. Lost (the
// server restarted, the network failed), it is opened again with a growing pause, and after
// each reconnect the cluster reads everything again (what was missed while away is unknown).
//
// Fences: a writer puts a token of its own into its notification; fence(token) resolves once
// this listener has received that notification and every change committed before it has been
// applied. The item store waits on one before it acknowledges an append, so the deliveries of
// an item are planned from a subscription set that holds every subscription acknowledged
// (committed) before the item was stored, by whichever instance.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../../log.js';
import { redactUrl } from './redact.js';

export const CHANNEL = 'grid_changes';
/** PostgreSQL refuses a payload of 8000 bytes or more; past this a change names no rows. */
const MAX_PAYLOAD = 7000;

/** control_rows path: [k] or [k, e]. */
export type ChangedRow = [string] | [string, string];

export type Change =
  /** Rows of control store `s` changed; no `r`: read the whole store again. */
  | { o: string; at: number; c: 'control'; s: string; r?: ChangedRow[] }
  /** Items of topic `t`: `put` appended up to seq `hi` (trim to `max`); `reload` anything else. */
  | { o: string; at: number; c: 'items'; t: string; k: 'put' | 'reload'; hi?: number; max?: number; f?: number }
  /** A fence of its own (sync()): nothing changed. */
  | { o: string; at: number; c: 'sync'; f: number };

type Body<C> = C extends unknown ? Omit<C, 'o' | 'at'> : never;

/** Runs pg_notify inside the caller's transaction (so it is sent if, and only if, it commits). */
export async function notifyIn(c: pg.PoolClient, origin: string, change: Body<Change>): Promise<void> {
  let payload = JSON.stringify({ ...change, o: origin, at: Date.now() });
  if (payload.length > MAX_PAYLOAD && change.c === 'control') {
    const { r: _r, ...rest } = change;
    payload = JSON.stringify({ ...rest, o: origin, at: Date.now() });
  }
  if (payload.length > MAX_PAYLOAD) throw new Error(`change notification of ${payload.length} bytes`);
  await c.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
}

/** An id for this process's instance: host, pid and a few random bytes (a restart is a new instance). */
export function newInstanceId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export interface ChangeHandler {
  /** Other instances' changes, in commit order (a batch of what arrived meanwhile). */
  changes(batch: Change[]): Promise<void>;
  /** The feed was (re)opened: anything may have changed; read everything again. */
  resync(): Promise<void>;
}

export class ChangeFeed {
  private client: pg.Client | undefined;
  private handler: ChangeHandler | undefined;
  private queue: Change[] = [];
  private pumping: Promise<void> | undefined;
  private readonly fences = new Map<number, () => void>();
  private nextFence = 1;
  private stopped = false;
  private retryMs = 250;
  private timer: NodeJS.Timeout | undefined;
  /** The feed is listening now. */
  connected = false;
  /** Reconnects since start. */
  reconnects = 0;
  /** Age of other instances' changes when they arrived here (ms): the last one, and the most since read. */
  private lag = { last: 0, max: 0, count: 0 };
  /** A resync is owed (set at every (re)connect, done once a handler exists). */
  private resyncOwed = false;
  /** The last attempt to reconnect failed: the server is unreachable (reset on connect). */
  private unreachable = false;
  /** Fences of sync() calls, opened at once when the server turns out unreachable. */
  private readonly syncFences = new Set<number>();
  /** The last resync failed: the next try waits a second (no tight loop against a down server). */
  private resyncRetry: NodeJS.Timeout | undefined;

  constructor(private readonly url: string, readonly origin: string, private readonly log?: Logger) {}

  /** Connects and LISTENs; throws when the first connection fails (the start fails). */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Where changes go; changes that arrived before wait for it (and a resync runs first). */
  attach(h: ChangeHandler): void {
    this.handler = h;
    this.kick();
  }

  /** Promises of reserved fences, by token (set up at reservation: the notification may come first). */
  private readonly waits = new Map<number, Promise<void>>();

  /**
   * Reserves a fence token, to put in a notification; `wait(token)` after it committed.
   * Bounded: after `ms` the fence opens anyway (logged), so a feed that is down delays, never blocks.
   */
  fenceToken(ms = 5000): number {
    const token = this.nextFence++;
    this.waits.set(token, new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        if (this.fences.delete(token)) {
          this.log?.warn({ token, connected: this.connected }, 'change feed fence timed out: deliveries planned from this instance\'s view');
          resolve();
        }
      }, ms);
      t.unref();
      this.fences.set(token, () => {
        clearTimeout(t);
        resolve();
      });
    }));
    return token;
  }

  /** Resolves once the notification carrying `token` arrived and everything before it was applied. */
  wait(token: number): Promise<void> {
    const w = this.waits.get(token);
    this.waits.delete(token);
    return w ?? Promise.resolve();
  }

  /** A reserved fence whose notification will never be sent (its transaction failed). */
  cancel(token: number): void {
    this.fences.get(token)?.();
    this.fences.delete(token);
    this.waits.delete(token);
  }

  private syncing: Promise<void> | undefined;
  /**
   * The fences' NOTIFYs go out one at a time on the LISTEN connection: a fence asked for while
   * the previous one's statement is still running would otherwise be a second query on a busy
   * client (pg queues it, with a deprecation warning on stderr, and pg 9 will refuse it).
   */
  private fenceSent: Promise<unknown> = Promise.resolve();

  /**
   * Resolves once every change committed (by any instance) before the call has been applied
   * here: a read that follows sees every write acknowledged before it began. Calls made in the
   * same tick share one round trip (a notification of our own on the feed's connection).
   */
  sync(): Promise<void> {
    // PostgreSQL is unreachable: there is nothing to catch up with that a write could use (the
    // write that follows is refused), and a read goes on with this instance's view rather than
    // wait for the fence's timeout (a gate or a list answered after a 5 s stall helps no one).
    if (!this.connected && this.unreachable) return Promise.resolve();
    if (this.syncing) return this.syncing;
    const p = new Promise<void>((resolve) => {
      setImmediate(() => {
        this.syncing = undefined;
        const token = this.fenceToken();
        this.syncFences.add(token);
        const done = this.wait(token).finally(() => this.syncFences.delete(token));
        const c = this.client;
        if (c) {
          this.fenceSent = this.fenceSent
            .then(() => c.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ o: this.origin, at: Date.now(), c: 'sync', f: token })]))
            .catch(() => undefined); // lost with the connection: the resync after the reconnect releases it
        }
        void done.then(resolve);
      });
    });
    this.syncing = p;
    return p;
  }

  /** Lag figures since the last call (for the heartbeat). */
  takeLag(): { last_ms: number; max_ms: number; changes: number } {
    const r = { last_ms: this.lag.last, max_ms: this.lag.max, changes: this.lag.count };
    this.lag = { last: this.lag.last, max: 0, count: 0 };
    return r;
  }

  /**
   * Reads the shared state again soon (a control store's write failed: its refused changes are
   * undone and it takes changes again once this has run). A read that fails is owed again.
   */
  requestResync(): void {
    if (!this.resyncOwed) this.log?.warn('a write to PostgreSQL failed: reading the shared state again');
    this.resyncOwed = true;
    // Disconnected: the reconnect reads everything anyway.
    if (this.connected) this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.resyncRetry) clearTimeout(this.resyncRetry);
    const c = this.client;
    this.client = undefined;
    this.connected = false;
    await c?.end().catch(() => undefined);
    await this.pumping;
    for (const f of this.fences.values()) f();
    this.fences.clear();
  }

  private async connect(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url });
    c.on('error', (e) => this.lost(c, e));
    c.on('end', () => this.lost(c, new Error('connection ended')));
    c.on('notification', (m) => {
      if (m.channel !== CHANNEL || !m.payload) return;
      try {
        this.queue.push(JSON.parse(m.payload) as Change);
      } catch {
        return;
      }
      this.kick();
    });
    await c.connect();
    await c.query(`LISTEN ${CHANNEL}`);
    this.client = c;
    this.connected = true;
    this.unreachable = false;
    this.retryMs = 250;
    this.resyncOwed = true;
    this.kick();
  }

  private lost(c: pg.Client, e: Error): void {
    if (this.client !== c) return;
    this.client = undefined;
    this.connected = false;
    void c.end().catch(() => undefined);
    if (this.stopped) return;
    this.log?.warn({ err: e.message, db: redactUrl(this.url) }, 'change feed lost: reconnecting');
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect().then(() => {
        this.reconnects++;
        this.log?.info({ db: redactUrl(this.url) }, 'change feed listening again: reading the shared state again');
      }, (e: Error) => {
        this.retryMs = Math.min(this.retryMs * 2, 5000);
        this.log?.debug({ err: e.message }, 'change feed reconnect failed');
        this.unreachable = true;
        for (const token of [...this.syncFences]) this.cancel(token);
        this.schedule();
      });
    }, this.retryMs);
    this.timer.unref();
  }

  private kick(): void {
    if (this.pumping || this.resyncRetry || !this.handler) return;
    let failed = false;
    this.pumping = this.pump().then((ok) => void (failed = !ok)).finally(() => {
      this.pumping = undefined;
      if (!(this.queue.length || this.resyncOwed) || !this.handler) return;
      if (!failed) return this.kick();
      this.resyncRetry = setTimeout(() => {
        this.resyncRetry = undefined;
        this.kick();
      }, 1000);
      this.resyncRetry.unref();
    });
  }

  /** false: a resync failed (tried again a second later). */
  private async pump(): Promise<boolean> {
    const h = this.handler!;
    while (this.resyncOwed || this.queue.length) {
      if (this.resyncOwed) {
        this.resyncOwed = false;
        // Everything queued so far is covered by reading everything.
        const covered = this.queue.splice(0);
        try {
          await h.resync();
        } catch (e) {
          this.log?.error({ err: (e as Error).message }, 'cluster resync failed: retried at the next change');
          this.resyncOwed = true;
          this.queue.unshift(...covered);
          return false;
        }
        this.release(covered, true);
        continue;
      }
      const batch = this.queue.splice(0);
      const now = Date.now();
      const theirs = batch.filter((c) => c.o !== this.origin && c.c !== 'sync');
      for (const c of theirs) {
        const lag = Math.max(0, now - c.at);
        this.lag.last = lag;
        this.lag.max = Math.max(this.lag.max, lag);
        this.lag.count++;
      }
      if (theirs.length) {
        try {
          await h.changes(theirs);
        } catch (e) {
          // A change not applied leaves a stale cache: read everything again.
          this.log?.error({ err: (e as Error).message }, 'applying cluster changes failed: reading the shared state again');
          this.resyncOwed = true;
        }
      }
      this.release(batch, false);
    }
    // Fences whose notification was lost with a connection: the resync covered them.
    return true;
  }

  private release(batch: Change[], all: boolean): void {
    if (all && !this.queue.length) {
      // A resync read everything: every fence issued before it is satisfied.
      for (const [k, f] of this.fences) {
        this.fences.delete(k);
        f();
      }
      return;
    }
    for (const c of batch) {
      if (c.o !== this.origin || c.c === 'control' || c.f === undefined) continue;
      const f = this.fences.get(c.f);
      if (f) {
        this.fences.delete(c.f);
        f();
      }
    }
  }
}
