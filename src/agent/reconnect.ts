// Reconnect with exponential backoff after a lost connection. Kept apart from GridClient so
// the schedule is testable without a server.
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
}

/** 1 s, 2 s, 4 s … capped at maxMs, with ±20 % jitter so a restarted server is not stormed. */
export function backoffDelay(attempt: number, o: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = o.initialMs ?? 1000;
  const max = o.maxMs ?? 30_000;
  const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * Calls `attempt` until it resolves or `cancelled()` turns true, sleeping backoffDelay between
 * tries. `onFailure` sees every failed try (for logging). Resolves with the result, or
 * undefined when cancelled.
 */
export async function retryWithBackoff<T>(
  attempt: () => Promise<T>,
  o: BackoffOptions & { cancelled: () => boolean; onFailure?: (err: unknown, n: number, delayMs: number) => void; sleep?: (ms: number) => Promise<void> },
): Promise<T | undefined> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let n = 0; !o.cancelled(); n++) {
    try {
      return await attempt();
    } catch (err) {
      const delay = backoffDelay(n, o);
      o.onFailure?.(err, n, delay);
      await sleep(delay);
    }
  }
  return undefined;
}
