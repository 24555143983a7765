// Fair scheduling of requests: one lane per account, at most `inflight` of an account's
// requests worked on at once, the rest waiting in its own lane; lanes with work are served
// round-robin whenever a slot frees. A flooding account's backlog so waits behind its own
// requests only, and another account's request starts at once (while fewer than `total`
// requests are worked on in all). Nothing here knows what a request is.

export interface LaneLimits {
  /** The account's requests worked on at once. */
  inflight: number;
  /** The account's requests that may wait. */
  queue: number;
}

interface LaneState {
  inflight: number;
  /** Requests held by runAfter until their time: they count as waiting. */
  held: number;
  limits: LaneLimits;
  queue: (() => void)[];
}

export interface FairQueueOptions {
  /** Requests worked on at once, all accounts together. */
  total: number;
  /** Requests waiting, all accounts together; beyond it every lane counts as full. */
  maxQueuedTotal: number;
}

export class FairQueue {
  private readonly lanes = new Map<string, LaneState>();
  /** Lanes with waiting work and a free slot of their own, in round-robin order. */
  private readonly ready = new Set<string>();
  private active = 0;
  private queued = 0;
  private held = 0;

  constructor(private readonly o: FairQueueOptions) {}

  /**
   * Runs `fn` in `key`'s lane: at once when a slot is free, else when its turn comes.
   * null: the lane already holds `limits.queue` waiting requests (or all lanes together
   * `maxQueuedTotal`): nothing was queued, and the caller answers resource-constraint.
   */
  run<T>(key: string, limits: LaneLimits, fn: () => Promise<T> | T): Promise<T> | null {
    const l = this.lane(key, limits);
    if (l.queue.length === 0 && l.inflight < limits.inflight && this.active < this.o.total) return this.start(key, l, fn);
    if (this.full(key, l)) return null;
    return this.enqueue(key, l, fn);
  }

  /**
   * Like run, after `delayMs` (a request over its account's rate, held until its tokens are
   * there): it counts as waiting in its lane meanwhile, so the lane's bound holds the held
   * ones too. null: the lane is full, as for run.
   */
  runAfter<T>(key: string, limits: LaneLimits, delayMs: number, fn: () => Promise<T> | T): Promise<T> | null {
    if (delayMs <= 0) return this.run(key, limits, fn);
    const l = this.lane(key, limits);
    if (this.full(key, l)) return null;
    l.held++;
    this.held++;
    return new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(() => {
      l.held--;
      this.held--;
      // Admitted already: it joins its lane whatever the lane holds now.
      if (l.queue.length === 0 && l.inflight < l.limits.inflight && this.active < this.o.total) return this.start(key, l, fn);
      return this.enqueue(key, l, fn);
    });
  }

  /** `key`'s lane, made on first use, with the account's limits as they are now. */
  private lane(key: string, limits: LaneLimits): LaneState {
    let l = this.lanes.get(key);
    if (!l) this.lanes.set(key, (l = { inflight: 0, held: 0, limits, queue: [] }));
    l.limits = limits;
    return l;
  }

  /** The lane (or all lanes together) holds as many waiting requests as it may; an idle lane goes. */
  private full(key: string, l: LaneState): boolean {
    if (l.queue.length + l.held < l.limits.queue && this.queued + this.held < this.o.maxQueuedTotal) return false;
    if (l.inflight === 0 && l.queue.length === 0 && l.held === 0) this.lanes.delete(key);
    return true;
  }

  private enqueue<T>(key: string, l: LaneState, fn: () => Promise<T> | T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      l.queue.push(() => void this.start(key, l, fn).then(resolve, reject));
      this.queued++;
      if (l.inflight < l.limits.inflight) this.ready.add(key);
    });
  }

  /** Requests worked on now, waiting now, and lanes held (for tests and stats). */
  get load(): { active: number; queued: number; held: number; lanes: number } {
    return { active: this.active, queued: this.queued, held: this.held, lanes: this.lanes.size };
  }

  private start<T>(key: string, lane: LaneState, fn: () => Promise<T> | T): Promise<T> {
    lane.inflight++;
    this.active++;
    let p: Promise<T>;
    try {
      p = Promise.resolve(fn());
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.finally(() => this.done(key, lane));
  }

  private done(key: string, lane: LaneState): void {
    lane.inflight--;
    this.active--;
    if (lane.queue.length && lane.inflight < lane.limits.inflight) this.ready.add(key);
    else if (!lane.queue.length && lane.inflight === 0 && lane.held === 0) this.lanes.delete(key);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.o.total && this.ready.size) {
      const key = this.ready.values().next().value!;
      this.ready.delete(key);
      const lane = this.lanes.get(key);
      const job = lane?.queue.shift();
      if (!lane || !job) continue;
      this.queued--;
      job();
      // Back of the line: every other lane with work gets its turn first.
      if (lane.queue.length && lane.inflight < lane.limits.inflight) this.ready.add(key);
    }
  }
}
