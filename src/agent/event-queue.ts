// An async iterator fed by push(): how GridClient.items() hands events to a `for await`.
// Events wait in the queue until the consumer takes them, so a slow consumer loses nothing.
export class EventQueue<T> implements AsyncIterableIterator<T> {
  private readonly queued: T[] = [];
  private readonly takers: ((r: IteratorResult<T>) => void)[] = [];
  private ended = false;
  private failure: Error | undefined;
  private failTakers: ((e: Error) => void)[] = [];

  constructor(private readonly onReturn: () => void = () => undefined) {}

  push(value: T): void {
    if (this.ended) return;
    const take = this.takers.shift();
    this.failTakers.shift();
    if (take) take({ value, done: false });
    else this.queued.push(value);
  }

  /** Ends the iteration; with an error, the next next() rejects with it. */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    const takers = this.takers.splice(0);
    const fails = this.failTakers.splice(0);
    takers.forEach((t, i) => (error ? fails[i]!(error) : t({ value: undefined, done: true })));
  }

  get size(): number { return this.queued.length; }

  next(): Promise<IteratorResult<T>> {
    if (this.queued.length) return Promise.resolve({ value: this.queued.shift()!, done: false });
    if (this.ended) {
      const f = this.failure;
      this.failure = undefined;
      return f ? Promise.reject(f) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => { this.takers.push(resolve); this.failTakers.push(reject); });
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    this.onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this { return this; }
}
