// Giving memory back after a burst (issue 16: RSS back within 10 % a minute after a flood).
//
// Under a burst V8 grows its heap (new pages for the young and old generations) and collects
// the garbage as it goes; once traffic stops it runs no collection at all — nothing allocates —
// so the pages it grew stay committed and the RSS stays at the burst's level for as long as the
// grid is quiet (measured: heap used back to 82 MB, heap total and RSS held at the peak a whole
// idle minute, 0 collections in it). V8's own memory reducer, which Chrome drives from idle
// notifications, does not run this case in Node. So the controller does it itself: when the
// event loop has been idle for two checks in a row and the heap has grown since the last time,
// it runs one full collection, which frees the garbage and returns the empty pages. A full
// collection pauses the loop (30–70 ms on the bench's 75–100 MB heaps), which is why it runs only
// when there is nothing to pause, at most once per growth and never more often than `minGapMs`.
//
// The collector is reached as Jest does for --logHeapUsage: --expose-gc set at run time, `gc`
// taken from a fresh context (or the global one if node was started with --expose-gc).
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '../log.js';

const MB = 1024 * 1024;

export type GcFunction = () => void;

/** V8's full collection, or undefined where it cannot be had (the reason is returned instead). */
export function fullGc(): GcFunction | string {
  const g = (globalThis as { gc?: unknown }).gc;
  if (typeof g === 'function') return g as GcFunction;
  try {
    setFlagsFromString('--expose-gc');
    const f = runInNewContext('gc') as unknown;
    if (typeof f === 'function') return f as GcFunction;
    return 'no gc function after --expose-gc';
  } catch (err) {
    return (err as Error).message;
  }
}

export interface IdleGcFigures {
  /** Collections this module ran. */
  runs: number;
  /** The last one: its pause and what it gave back (heap total before − after), in MB. */
  last_pause_ms?: number;
  last_freed_mb?: number;
  last_at?: string;
}

export interface IdleGcOptions {
  log: Logger;
  /** How often the loop's utilisation is looked at. Default 5 s. */
  intervalMs?: number;
  /** Busy fraction of the loop below which an interval counts as idle. Default 0.05. */
  idleBelow?: number;
  /** Growth of the heap (total) over the size after the last collection that is worth one: the larger of these. */
  growthFraction?: number;
  growthMb?: number;
  /** Never two collections closer than this. Default 30 s. */
  minGapMs?: number;
  // For tests: the pieces of the process it reads and drives.
  gc?: GcFunction;
  utilization?: () => number;
  heapTotal?: () => number;
  now?: () => number;
}

export class IdleGc {
  private readonly o: Required<Omit<IdleGcOptions, 'gc' | 'log'>>;
  private readonly gc: GcFunction | undefined;
  private timer: NodeJS.Timeout | undefined;
  private quiet = 0;
  private baseline: number | undefined;
  private lastRun = -Infinity;
  readonly figures: IdleGcFigures = { runs: 0 };

  constructor(private readonly opts: IdleGcOptions) {
    let elu: EventLoopUtilization = performance.eventLoopUtilization();
    this.o = {
      intervalMs: opts.intervalMs ?? 5000,
      idleBelow: opts.idleBelow ?? 0.05,
      growthFraction: opts.growthFraction ?? 0.1,
      growthMb: opts.growthMb ?? 8,
      minGapMs: opts.minGapMs ?? 30_000,
      utilization: opts.utilization ?? (() => {
        const now = performance.eventLoopUtilization();
        const u = performance.eventLoopUtilization(now, elu).utilization;
        elu = now;
        return u;
      }),
      heapTotal: opts.heapTotal ?? (() => process.memoryUsage().heapTotal),
      now: opts.now ?? (() => performance.now()),
    };
    const g = opts.gc ?? fullGc();
    if (typeof g === 'function') this.gc = g;
    else opts.log.warn({ reason: g }, 'idle gc unavailable: the heap a burst grows is given back only when V8 collects on its own');
  }

  start(): void {
    if (!this.gc || this.timer) return;
    this.timer = setInterval(() => this.check(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look (the timer's; public for tests). Returns whether it collected. */
  check(): boolean {
    if (!this.gc) return false;
    if (this.o.utilization() >= this.o.idleBelow) {
      this.quiet = 0;
      return false;
    }
    if (++this.quiet < 2) return false;
    const now = this.o.now();
    if (now - this.lastRun < this.o.minGapMs) return false;
    const total = this.o.heapTotal();
    if (this.baseline !== undefined && total <= this.baseline + Math.max(this.o.growthMb * MB, this.baseline * this.o.growthFraction)) return false;
    const t0 = performance.now();
    try {
      this.gc();
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'idle gc failed');
      this.lastRun = now;
      return false;
    }
    const pause = performance.now() - t0;
    const after = this.o.heapTotal();
    this.baseline = after;
    this.lastRun = now;
    this.figures.runs++;
    this.figures.last_pause_ms = +pause.toFixed(1);
    this.figures.last_freed_mb = +((total - after) / MB).toFixed(1);
    this.figures.last_at = new Date().toISOString();
    this.opts.log.info({ pause_ms: this.figures.last_pause_ms, heap_total_mb: +(after / MB).toFixed(1), freed_mb: this.figures.last_freed_mb }, 'idle gc: heap grown since the last, loop idle; collected');
    return true;
  }
}
