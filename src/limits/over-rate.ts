// How long an account has been over its rate in the last `within_s` seconds (issue 16 item 2,
// suspension under holding). A request over its rate is held until its tokens are there, so a
// flooder that waits for its answers is slowed to its rate and is never refused: counting
// refusals alone never suspends it. What such a flooder does show is that it is over its rate
// all the time: from each held (or refused) request until the tokens it waited for are there,
// the account is "over". This keeps that time per second of the window (a ring of one slot
// per second), so `overMs` is the time over the rate within the window, whatever the rate.
// An honest burst is over for the second or two its debt lasts; a flooder for the whole window.

export class OverRate {
  /** The second each slot holds (-1: none) and the milliseconds over the rate in it. */
  private sec: number[];
  private ms: number[];
  /** The current stretch over the rate, not yet in the slots: [from, until). */
  private from = 0;
  private until = -Infinity;

  constructor(private windowS: number) {
    this.sec = new Array<number>(windowS).fill(-1);
    this.ms = new Array<number>(windowS).fill(0);
  }

  /** The account is over its rate from `now` for `forMs` (the wait for the tokens it lacks). */
  mark(now: number, forMs: number): void {
    if (!(forMs > 0) || !Number.isFinite(forMs)) return;
    if (now > this.until) {
      this.commit(this.from, this.until, now);
      this.from = now;
    }
    this.until = Math.max(this.until, now + forMs);
  }

  /** Milliseconds over the rate within the last `windowS` seconds (the current second included). */
  overMs(now: number): number {
    if (now > this.until) {
      this.commit(this.from, this.until, now);
      this.until = -Infinity;
    }
    const nowSec = Math.floor(now / 1000);
    const oldest = nowSec - this.windowS + 1;
    let sum = 0;
    for (let i = 0; i < this.windowS; i++) if (this.sec[i]! >= oldest && this.sec[i]! <= nowSec) sum += this.ms[i]!;
    // The open stretch, up to now.
    const a = Math.max(this.from, oldest * 1000);
    const b = Math.min(this.until, now);
    return b > a ? sum + (b - a) : sum;
  }

  /** A new window length: what was counted is dropped (a policy change starts afresh). */
  resize(windowS: number): void {
    if (windowS === this.windowS) return;
    this.windowS = windowS;
    this.sec = new Array<number>(windowS).fill(-1);
    this.ms = new Array<number>(windowS).fill(0);
    this.until = -Infinity;
  }

  /** Puts [a, b) into the slots, seconds older than the window (at `now`) left out. */
  private commit(a: number, b: number, now: number): void {
    if (!(b > a)) return;
    const oldest = Math.floor(now / 1000) - this.windowS + 1;
    for (let s = Math.max(Math.floor(a / 1000), oldest); s * 1000 < b; s++) {
      const lo = Math.max(a, s * 1000);
      const hi = Math.min(b, (s + 1) * 1000);
      if (hi <= lo) continue;
      const i = ((s % this.windowS) + this.windowS) % this.windowS;
      if (this.sec[i] !== s) [this.sec[i], this.ms[i]] = [s, 0];
      this.ms[i]! += hi - lo;
    }
  }
}
