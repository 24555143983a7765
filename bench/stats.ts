// Latency histogram and rate helpers shared by the bench workers and the parent. Workers
// record into a fixed-size histogram (no per-sample arrays: a full W1 run is a million
// deliveries) and the parent merges them. Buckets are 10 µs below 10 ms, 100 µs below
// 100 ms, 1 ms below 1 s, 10 ms below 60 s and 100 ms up to 600 s, so a percentile is off by
// at most ~1 % (a saturated server queues for minutes: W1 on two cores reached > 60 s).

const LIMITS = [
  { upTo: 10, step: 0.01 },
  { upTo: 100, step: 0.1 },
  { upTo: 1000, step: 1 },
  { upTo: 60_000, step: 10 },
  { upTo: 600_000, step: 100 },
] as const;

const OFFSETS: number[] = [];
{
  let off = 0;
  let lo = 0;
  for (const l of LIMITS) {
    OFFSETS.push(off);
    off += Math.round((l.upTo - lo) / l.step);
    lo = l.upTo;
  }
  OFFSETS.push(off);
}
/** Number of buckets, the last one collecting everything at or above 600 s. */
export const BUCKETS = OFFSETS[OFFSETS.length - 1]! + 1;

export function bucketOf(ms: number): number {
  if (!(ms > 0)) return 0;
  let lo = 0;
  for (let i = 0; i < LIMITS.length; i++) {
    const l = LIMITS[i]!;
    if (ms < l.upTo) return OFFSETS[i]! + Math.floor((ms - lo) / l.step);
    lo = l.upTo;
  }
  return BUCKETS - 1;
}

/** Upper edge of bucket `b` in ms (what a percentile reports: never better than measured). */
export function bucketUpperMs(b: number): number {
  let lo = 0;
  for (let i = 0; i < LIMITS.length; i++) {
    const l = LIMITS[i]!;
    if (b < OFFSETS[i + 1]!) return +(lo + (b - OFFSETS[i]! + 1) * l.step).toFixed(3);
    lo = l.upTo;
  }
  return Infinity;
}

export class Histogram {
  readonly counts: Uint32Array;
  total = 0;
  constructor(counts?: ArrayLike<number>) {
    this.counts = new Uint32Array(BUCKETS);
    if (counts) this.add(counts);
  }
  record(ms: number): void {
    this.counts[bucketOf(ms)]!++;
    this.total++;
  }
  /** Merges another histogram's counts (as sent over IPC: a plain array). */
  add(counts: ArrayLike<number>): void {
    for (let i = 0; i < counts.length && i < BUCKETS; i++) {
      this.counts[i]! += counts[i]!;
      this.total += counts[i]!;
    }
  }
  /** p in [0, 100]; undefined when empty. */
  percentile(p: number): number | undefined {
    if (this.total === 0) return undefined;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return bucketUpperMs(b);
    }
    return undefined;
  }
  /** Sparse form for IPC: [bucket, count] pairs. */
  toSparse(): [number, number][] {
    const out: [number, number][] = [];
    this.counts.forEach((c, b) => { if (c) out.push([b, c]); });
    return out;
  }
  static fromSparse(pairs: [number, number][]): Histogram {
    const h = new Histogram();
    for (const [b, c] of pairs) {
      h.counts[b]! += c;
      h.total += c;
    }
    return h;
  }
}

export interface LatencySummary { p50_ms?: number; p95_ms?: number; p99_ms?: number; max_ms?: number }

export function summarise(h: Histogram): LatencySummary {
  return { p50_ms: h.percentile(50), p95_ms: h.percentile(95), p99_ms: h.percentile(99), max_ms: h.percentile(100) };
}

/** Exact percentile of a small sample (W3's per-call timings). */
export function percentileOf(samples: number[], p: number): number | undefined {
  if (!samples.length) return undefined;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function perSecond(count: number, ms: number): number {
  return ms > 0 ? Math.round((count * 1000) / ms) : 0;
}

export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b ? +(a / b).toFixed(3) : undefined;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
