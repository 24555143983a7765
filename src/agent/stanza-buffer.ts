// Incoming stanzas kept until someone waits for them, so a reply that arrives before the
// test (or agent) starts waiting is not lost. Each stanza is handed out at most once.
import type { Element } from '@xmpp/xml';

interface Waiter {
  predicate: (stanza: Element) => boolean;
  resolve: (stanza: Element) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class StanzaBuffer {
  private readonly stanzas: Element[] = [];
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  /** `limit` bounds memory on a busy connection: the oldest unclaimed stanzas go first. */
  constructor(private readonly limit = 1000) {}

  push(stanza: Element): void {
    for (const w of this.waiters) {
      if (this.matches(w, stanza)) {
        this.settle(w);
        w.resolve(stanza);
        return;
      }
    }
    this.stanzas.push(stanza);
    if (this.stanzas.length > this.limit) this.stanzas.shift();
  }

  waitFor(predicate: (stanza: Element) => boolean, timeoutMs = 10_000): Promise<Element> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    const i = this.stanzas.findIndex((s) => safeTest(predicate, s));
    if (i >= 0) return Promise.resolve(this.stanzas.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate, resolve, reject,
        timer: setTimeout(() => {
          this.settle(waiter);
          reject(new Error(`no matching stanza within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiters) {
      this.settle(w);
      w.reject(new Error('connection closed while waiting for a stanza'));
    }
    this.stanzas.length = 0;
  }

  private matches(w: Waiter, stanza: Element): boolean {
    return safeTest(w.predicate, stanza);
  }

  private settle(w: Waiter): void {
    clearTimeout(w.timer);
    this.waiters.delete(w);
  }
}

/** A predicate that throws (e.g. on an unexpected shape) just does not match. */
function safeTest(predicate: (stanza: Element) => boolean, stanza: Element): boolean {
  try {
    return predicate(stanza);
  } catch {
    return false;
  }
}
