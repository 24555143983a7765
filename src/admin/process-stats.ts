// How the controller process itself is doing, for `stats` (admin socket and XEP-0050 #stats):
// memory as Node counts it, and the event loop's delay and the garbage collector's pauses since
// the previous read. These tell a stall of the controller from one of the server: a delivery
// late by 60 ms while the loop never waited more than 5 ms was held up elsewhere.
import type { IdleGcFigures } from './idle-gc.js';
import { monitorEventLoopDelay, PerformanceObserver, constants, type IntervalHistogram, type PerformanceEntry } from 'node:perf_hooks';

const MB = 1024 * 1024;
const ms = (ns: number) => +(ns / 1e6).toFixed(2);

export interface ProcessFigures {
  rss_mb: number; heap_total_mb: number; heap_used_mb: number; external_mb: number; array_buffers_mb: number;
  /** Since the previous read (or the start): seconds covered, event-loop delay, GC pauses. */
  window_s: number;
  loop_delay_ms: { p50: number; p99: number; max: number };
  gc: { count: number; major: number; total_ms: number; max_ms: number };
  /** The collections run when idle after a burst (src/admin/idle-gc.ts; config memory.idle_gc). */
  idle_gc?: IdleGcFigures;
}

export class ProcessStats {
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly observer: PerformanceObserver;
  private gc = { count: 0, major: 0, total_ms: 0, max_ms: 0 };
  private since = process.hrtime.bigint();

  constructor() {
    this.loop.enable();
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.count(e);
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  private count(e: PerformanceEntry): void {
    const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
    this.gc.count++;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.gc.major++;
    this.gc.total_ms += e.duration;
    this.gc.max_ms = Math.max(this.gc.max_ms, e.duration);
  }

  /** The figures, and a new window from now. */
  read(): ProcessFigures {
    const m = process.memoryUsage();
    const now = process.hrtime.bigint();
    const out: ProcessFigures = {
      rss_mb: +(m.rss / MB).toFixed(1), heap_total_mb: +(m.heapTotal / MB).toFixed(1), heap_used_mb: +(m.heapUsed / MB).toFixed(1),
      external_mb: +(m.external / MB).toFixed(1), array_buffers_mb: +(m.arrayBuffers / MB).toFixed(1),
      window_s: +(Number(now - this.since) / 1e9).toFixed(1),
      loop_delay_ms: this.loop.count ? { p50: ms(this.loop.percentile(50)), p99: ms(this.loop.percentile(99)), max: ms(this.loop.max) } : { p50: 0, p99: 0, max: 0 },
      gc: { count: this.gc.count, major: this.gc.major, total_ms: +this.gc.total_ms.toFixed(1), max_ms: +this.gc.max_ms.toFixed(2) },
    };
    this.loop.reset();
    this.gc = { count: 0, major: 0, total_ms: 0, max_ms: 0 };
    this.since = now;
    return out;
  }

  stop(): void {
    this.loop.disable();
    this.observer.disconnect();
  }
}
