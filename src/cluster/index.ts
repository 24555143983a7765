// A cluster of controllers (docs/protocol.md §14): several instances on one PostgreSQL store,
// connected to one XMPP server as the same component. This is the wiring-side part that keeps
// each instance's view current and makes the instances visible:
//
// - What another instance changed arrives on the change feed (store/pg/notify.ts) as rows of
//   a control store or a topic of the item store; those are read again, and the caches built on
//   them follow: the topic service's subscription index, the item service's authorization cache.
//   Nothing is announced again: the instance that made a change told whom it had to (an
//   approval's message, a subtopic's publishers, a delivery) — each exactly once.
// - Each instance writes a heartbeat row (table instances): its host and pid, XMPP link state,
//   policy digest and change-feed lag; `grid-controller status` shows them all.
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Logger } from '../log.js';
import type { SharedStore } from '../store/open.js';
import type { Change, ChangedRow } from '../store/pg/notify.js';
import type { TopicService } from '../topics/service.js';
import type { Subscription, TopicsState } from '../topics/types.js';

export interface ClusterDeps {
  shared: SharedStore;
  topics: TopicService;
  /** Authorization decisions cached from accounts and policy (ItemService.invalidate). */
  invalidate: () => void;
  xmppOnline: () => boolean;
  policyDigest: () => string;
  log: Logger;
  /** Heartbeat period (default 2000 ms); an instance silent for 5 periods shows as stale. */
  heartbeatMs?: number;
}

export interface InstanceRow {
  id: string;
  host: string;
  pid: number;
  started_at: string;
  heartbeat_age_s: number;
  state: 'up' | 'stale';
  self: boolean;
  xmpp: 'up' | 'down';
  policy_digest: string;
  store: 'up' | 'down';
  feed_lag_ms: number;
  feed_reconnects: number;
}

export class Cluster {
  private timer: NodeJS.Timeout | undefined;
  private instances: InstanceRow[] = [];
  private readonly startedAt = new Date();
  private stopped = false;
  private beating: Promise<void> | undefined;
  private storeUp = true;

  constructor(private readonly d: ClusterDeps) {}

  get id(): string {
    return this.d.shared.feed.origin;
  }

  async start(): Promise<void> {
    this.d.shared.feed.attach({ changes: (b) => this.apply(b), resync: () => this.resync() });
    await this.forgetDead();
    await this.beat();
    const ms = this.d.heartbeatMs ?? 2000;
    this.timer = setInterval(() => {
      if (!this.beating) this.beating = this.beat().finally(() => (this.beating = undefined));
    }, ms);
    this.timer.unref();
  }

  /** A heartbeat now (the link just came up: the others see it at once, not at the next beat). */
  async beatNow(): Promise<void> {
    await this.beating;
    this.beating = this.beat().finally(() => (this.beating = undefined));
    await this.beating;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.beating;
    // A clean stop leaves the cluster at once (a killed instance ages into `stale`).
    await this.d.shared.pool.query('DELETE FROM instances WHERE id = $1', [this.id]).catch(() => undefined);
  }

  /** The `cluster` section of `grid-controller status`. */
  status(): Record<string, unknown> {
    // This instance's own row as it is now (its last heartbeat may predate the link coming up).
    const own = { xmpp: this.d.xmppOnline() ? 'up' : 'down', store: this.d.shared.feed.connected ? 'up' : 'down' } as const;
    return { instance: this.id, instances: this.instances.map((i) => (i.self ? { ...i, ...own } : i)) };
  }

  private async apply(batch: Change[]): Promise<void> {
    const rows = new Map<string, Map<string, ChangedRow> | 'all'>();
    const items = new Map<string, { k: 'put' | 'reload'; hi: number; max: number }>();
    for (const c of batch) {
      if (c.c === 'control') {
        const cur = rows.get(c.s);
        if (!c.r || cur === 'all') {
          rows.set(c.s, 'all');
          continue;
        }
        const m = cur ?? new Map<string, ChangedRow>();
        for (const r of c.r) m.set(JSON.stringify(r), r);
        rows.set(c.s, m);
      } else if (c.c === 'items') {
        const cur = items.get(c.t);
        const k = c.k === 'reload' || cur?.k === 'reload' ? 'reload' : 'put';
        items.set(c.t, { k, hi: Math.max(cur?.hi ?? 0, c.hi ?? 0), max: c.max ?? cur?.max ?? 0 });
      }
    }
    let invalidate = false;
    for (const [name, r] of rows) {
      const store = this.d.shared.control.get(name);
      if (!store) continue;
      invalidate = true;
      if (name === 'topics') await this.refreshTopics(r);
      else if (r === 'all') await store.refreshAll();
      else await store.refresh([...r.values()]);
    }
    if (invalidate) this.d.invalidate();
    // Read before the fences of this batch open: a query answered after a sync sees them.
    for (const [topic, w] of items) await this.d.shared.items()?.applyRemote(topic, w.k, w.hi, w.max);
  }

  private async refreshTopics(r: Map<string, ChangedRow> | 'all'): Promise<void> {
    const store = this.d.shared.control.get('topics')!;
    const subs = () => (store.data as TopicsState).subscriptions;
    const list = r === 'all' ? [] : [...r.values()];
    if (r === 'all' || list.some((p) => p.length === 1 && p[0] === 'subscriptions')) {
      await store.refreshAll();
      this.d.topics.reindex();
      return;
    }
    const ids = list.filter((p): p is [string, string] => p.length === 2 && p[0] === 'subscriptions').map((p) => p[1]);
    const before = new Map<string, Subscription | undefined>(ids.map((id) => [id, Object.hasOwn(subs(), id) ? subs()[id] : undefined]));
    await store.refresh(list);
    for (const [id, b] of before) {
      const a = Object.hasOwn(subs(), id) ? subs()[id] : undefined;
      if (a !== b) this.d.topics.syncSubscription(b, a);
    }
  }

  /** The feed (re)connected: everything is read again. */
  private async resync(): Promise<void> {
    for (const [name, store] of this.d.shared.control) {
      await store.refreshAll();
      if (name === 'topics') this.d.topics.reindex();
    }
    this.d.invalidate();
    await this.d.shared.items()?.refreshAll();
  }

  /** Rows of instances on this host whose process is gone (killed, crashed): not worth showing as stale. */
  private async forgetDead(): Promise<void> {
    const r = await this.d.shared.pool.query<{ id: string; pid: number }>('SELECT id, pid FROM instances WHERE host = $1 AND id <> $2', [hostname(), this.id]);
    const dead = r.rows.filter((x) => {
      try {
        process.kill(x.pid, 0);
        return false;
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'ESRCH';
      }
    });
    if (dead.length) await this.d.shared.pool.query('DELETE FROM instances WHERE id = ANY($1::text[])', [dead.map((x) => x.id)]);
  }

  /** Writes this instance's row and reads everyone's. */
  private async beat(): Promise<void> {
    if (this.stopped) return;
    const db: pg.Pool = this.d.shared.pool;
    const feed = this.d.shared.feed;
    const lag = feed.takeLag();
    const info = { xmpp: this.d.xmppOnline() ? 'up' : 'down', policy_digest: this.d.policyDigest(), feed: feed.connected ? 'up' : 'down', feed_lag_ms: lag.max_ms, feed_reconnects: feed.reconnects };
    try {
      await db.query(
        `INSERT INTO instances (id, host, pid, started_at, heartbeat_at, info) VALUES ($1, $2, $3, $4, now(), $5)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), info = EXCLUDED.info`,
        [this.id, hostname(), process.pid, this.startedAt.toISOString(), JSON.stringify(info)]);
      // Instances gone for a day are forgotten.
      await db.query("DELETE FROM instances WHERE heartbeat_at < now() - interval '1 day'");
      const r = await db.query<{ id: string; host: string; pid: number; started_at: Date; age: string; info: typeof info }>(
        'SELECT id, host, pid, started_at, extract(epoch FROM now() - heartbeat_at) AS age, info FROM instances ORDER BY started_at, id');
      const stale = ((this.d.heartbeatMs ?? 2000) * 5) / 1000;
      this.instances = r.rows.map((x) => ({
        id: x.id, host: x.host, pid: x.pid, started_at: new Date(x.started_at).toISOString(),
        heartbeat_age_s: Math.round(Number(x.age) * 10) / 10, state: Number(x.age) > stale ? 'stale' : 'up', self: x.id === this.id,
        xmpp: x.info.xmpp === 'up' ? 'up' : 'down', policy_digest: x.info.policy_digest, store: x.info.feed === 'up' ? 'up' : 'down',
        feed_lag_ms: x.info.feed_lag_ms, feed_reconnects: x.info.feed_reconnects,
      }));
      if (!this.storeUp) this.d.log.info('PostgreSQL reachable again');
      this.storeUp = true;
    } catch (e) {
      if (this.storeUp) this.d.log.warn({ err: (e as Error).message }, 'cluster heartbeat failed: PostgreSQL unreachable?');
      this.storeUp = false;
      for (const i of this.instances) if (i.self) i.store = 'down';
    }
  }
}
