// Per-account limits and fair scheduling (README "Rate limits"). Import from here.
export * from './types.js';
export { TokenBucket } from './bucket.js';
export { OverRate } from './over-rate.js';
export { limitsFor } from './resolve.js';
export { RateLimiter, LOG_INTERVAL_MS, type AbuseSummary, type LimiterDeps } from './limiter.js';
export { FairQueue, type LaneLimits, type FairQueueOptions } from './fair-queue.js';
