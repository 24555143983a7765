// A token bucket with an injected clock: `capacity` tokens, refilled at `ratePerS`. Nothing
// runs between calls; the refill is computed when the bucket is asked.

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private ratePerS: number,
    private capacity: number,
    private readonly now: () => number,
  ) {
    this.tokens = capacity;
    this.at = now();
  }

  /** Takes `n` tokens if there are that many; else takes none. */
  take(n = 1): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Milliseconds until `n` tokens are there (0 when they are; Infinity when `n` exceeds the capacity). */
  waitMs(n = 1): number {
    this.refill();
    if (this.tokens >= n) return 0;
    if (n > this.capacity || this.ratePerS <= 0) return Infinity;
    return Math.ceil(((n - this.tokens) / this.ratePerS) * 1000);
  }

  /**
   * Takes `n` tokens even when they are not there yet: the bucket goes into debt, which the
   * refill pays back; the caller waits `waitMs(n)` (asked before) before it acts.
   */
  borrow(n = 1): void {
    this.refill();
    this.tokens -= n;
  }

  /** True when the bucket has refilled completely: it then holds no state worth keeping. */
  full(): boolean {
    this.refill();
    return this.tokens >= this.capacity;
  }

  /** New limits keep the tokens already there, up to the new capacity. */
  configure(ratePerS: number, capacity: number): void {
    this.refill();
    this.ratePerS = ratePerS;
    this.capacity = capacity;
    this.tokens = Math.min(this.tokens, capacity);
  }

  private refill(): void {
    const t = this.now();
    if (t > this.at) this.tokens = Math.min(this.capacity, this.tokens + ((t - this.at) / 1000) * this.ratePerS);
    this.at = t;
  }
}
