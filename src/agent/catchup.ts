// One subscription that loses nothing across the node's own disconnects and restarts
// (PROTOCOL §5 Grid-Seq, §7 after_seq). On start and after every reconnect it first asks the
// §7 query for what came after the last seq it handed on (same filter, paging until done),
// holding live notifications back meanwhile; then it hands those on too. Every item goes
// out once, in ascending seq: duplicates between the query and live delivery are dropped
// by seq. The place survives restarts in a StateFile.
import type { GridClient } from './client.js';
import type { Filter, GridEvent, ItemEvent, QueryItem, Subscription } from './grid-types.js';
import { EventQueue } from './event-queue.js';
import { backoffDelay } from './reconnect.js';
import { toGridError, type GridError } from './errors.js';
import type { StateFile } from './state-file.js';

export interface FollowOptions {
  topic: string;
  filter?: Filter;
  /** Keeps the place across restarts; without it, the place lives in memory only. */
  state?: StateFile;
  /**
   * Where to begin when the state file knows no place for this subscription. Default with a
   * state file: 0 (everything the topic still stores); without one: the first live item (a
   * reconnect before it cannot catch up).
   */
  afterSeq?: number;
  /** §7 page size (the controller's default without it). */
  pageSize?: number;
  /** Keep the subscription after the session ends (GridClient.subscribe's `keep`). */
  keep?: boolean;
}

/** An item of the followed subscription; `via` says whether the catch-up or a notification brought it. */
export interface FollowedItem extends ItemEvent {
  via: 'query' | 'live';
}

export type FollowEvent =
  | FollowedItem
  | { kind: 'caught-up'; topic: string; afterSeq: number; count: number }
  /** Items after `afterSeq` are gone: the topic keeps only its newest (max_items). */
  | { kind: 'truncated'; topic: string; afterSeq: number }
  /** The controller refused the catch-up query: live delivery goes on, with a gap. */
  | { kind: 'catch-up-failed'; topic: string; error: GridError }
  | Exclude<GridEvent, ItemEvent>;

/** What the follower needs of GridClient. */
export type FollowClient = Pick<GridClient, 'subscribe' | 'unsubscribe' | 'subscriptions' | 'query' | 'onEvent'>;

export class Follower implements AsyncIterableIterator<FollowEvent> {
  /** The subscription items come through (renewed after a reconnect when the controller lost it). */
  subscription: Subscription | undefined;
  private readonly out: EventQueue<FollowEvent>;
  /** Highest seq handed to the consumer's queue; the next catch-up asks for what follows it. */
  private offered: number | undefined;
  private readonly previous: string | undefined;
  private held: ItemEvent[] = [];
  private buffering = true;
  private down = false;
  private running = false;
  private again = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private unlisten: (() => void) | undefined;

  constructor(private readonly client: FollowClient, private readonly o: FollowOptions) {
    const place = o.state?.place(o.topic, o.filter);
    this.offered = place?.seq ?? o.afterSeq ?? (o.state ? 0 : undefined);
    this.previous = place?.subid;
    this.out = new EventQueue(() => this.stop());
  }

  /** Subscribes, ends the previous run's subscription, and starts catching up. */
  async start(): Promise<Subscription> {
    this.unlisten = this.client.onEvent((e) => this.onEvent(e));
    try {
      this.subscription = await this.client.subscribe(this.o.topic, this.o.filter, { keep: !!this.o.keep });
    } catch (err) {
      this.stop();
      throw err;
    }
    await this.endPrevious(this.subscription.subid);
    if (this.o.state && this.offered !== undefined) this.o.state.save(this.o.topic, this.o.filter, { seq: this.offered, subid: this.subscription.subid });
    void this.catchUp();
    return this.subscription;
  }

  /**
   * Call once the item is handed on (printed, stored): its seq becomes the place. The
   * returned commit, for callers that hand on synchronously: stage → hand on → commit keeps
   * a kill -9 from repeating the item except in the rename itself.
   */
  stage(item: FollowedItem): () => void {
    if (!this.o.state || item.seq === undefined) return () => undefined;
    return this.o.state.stage(this.o.topic, this.o.filter, { seq: item.seq, ...(this.subscription ? { subid: this.subscription.subid } : {}) });
  }

  handed(item: FollowedItem): void {
    this.stage(item)();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unlisten?.();
    this.wake?.();
    this.out.end();
  }

  next(): Promise<IteratorResult<FollowEvent>> { return this.out.next(); }
  return(): Promise<IteratorResult<FollowEvent>> { this.stop(); return Promise.resolve({ value: undefined, done: true }); }
  [Symbol.asyncIterator](): this { return this; }

  private onEvent(e: GridEvent): void {
    if (this.stopped) return;
    switch (e.kind) {
      case 'item':
        if (e.topic !== this.o.topic) return;
        if (this.buffering) this.held.push(e);
        else this.offer(e, 'live');
        return;
      case 'disconnected':
        this.down = true;
        this.buffering = true; // what arrives on the next connection may follow a gap
        break;
      case 'reconnected': {
        this.down = false;
        const renewed = e.resubscribed.find((s) => s.topic === this.o.topic && s.subid !== this.subscription?.subid &&
          this.subscription && JSON.stringify(s.filter ?? {}) === JSON.stringify(this.subscription.filter ?? {}));
        if (renewed) this.subscription = renewed;
        this.out.push(e);
        this.wake?.();
        void this.catchUp();
        return;
      }
    }
    this.out.push(e);
  }

  private offer(item: ItemEvent | QueryItem, via: FollowedItem['via']): void {
    // Another subscription of this JID to the topic (another filter, the previous run's): not ours.
    if (via === 'live' && 'subid' in item && item.subid && this.subscription && item.subid !== this.subscription.subid) return;
    if (item.seq !== undefined) {
      if (this.offered !== undefined && item.seq <= this.offered) return;
      this.offered = item.seq;
    }
    // A caught-up item came by query, not through a subscription: it is this subscription's all
    // the same, so its line names the subid like a live one (issue 11: subid always filled).
    const subid = ('subid' in item && item.subid) || this.subscription?.subid;
    this.out.push({ ...item, kind: 'item', via, ...(subid ? { subid } : {}) });
  }

  private async catchUp(): Promise<void> {
    if (this.running) { this.again = true; return; }
    this.running = true;
    try {
      for (let attempt = 0; !this.stopped;) {
        this.again = false;
        if (this.offered !== undefined && !this.down) {
          try {
            await this.queryAfter(this.offered);
          } catch (err) {
            const e = toGridError(err, { operation: 'query', topic: this.o.topic });
            if (e.kind === 'stanza' || e.kind === 'usage') { this.out.push({ kind: 'catch-up-failed', topic: this.o.topic, error: e }); break; }
            // Lost connection or no answer: again once reconnected, or after a pause.
            if (!this.again) await this.pause(backoffDelay(attempt++));
            continue;
          }
        }
        if (!this.again) break;
      }
    } finally {
      this.running = false;
    }
    if (this.stopped || this.down) return; // `reconnected` starts the next catch-up
    this.buffering = false;
    for (const e of this.held.splice(0)) this.offer(e, 'live');
  }

  private async queryAfter(from: number): Promise<void> {
    let first = true;
    let count = 0;
    const q = { ...(this.o.filter ? { filter: this.o.filter } : {}), afterSeq: from, ...(this.o.pageSize ? { max: this.o.pageSize } : {}) };
    for await (const page of this.client.query(this.o.topic, q)) {
      if (first && page.truncated) this.out.push({ kind: 'truncated', topic: this.o.topic, afterSeq: from });
      first = false;
      for (const it of page.items) {
        const before = this.offered;
        this.offer(it, 'query');
        if (this.offered !== before) count++;
      }
      if (this.stopped) return;
    }
    this.out.push({ kind: 'caught-up', topic: this.o.topic, afterSeq: from, count });
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(t); this.wake = undefined; resolve(); };
      const t = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** The subscription the last run left behind (kill -9, --keep) would deliver everything twice. */
  private async endPrevious(current: string): Promise<void> {
    const prev = this.previous;
    if (!prev || prev === current) return;
    try {
      if ((await this.client.subscriptions(this.o.topic)).some((s) => s.subid === prev)) await this.client.unsubscribe(this.o.topic, prev);
    } catch {
      // Gone already, or not ours to end: the seq check drops its items anyway.
    }
  }
}
