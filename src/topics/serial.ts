// Running async work one at a time: the topic service's mutations (each checks the state,
// awaits the store, then updates its indexes — interleaved, two subscribes both missed each
// other, found by the fuzz), and the per-topic order of delivery planning.

export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after everything queued before it; a failure does not stop the queue. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/** One Serial per key, dropped when its queue is empty. */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.tails.get(key) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return run;
  }
}
