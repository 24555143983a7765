// Ordered, backpressured sending. Every send is awaited (the socket's write callback), so a
// large fan-out follows the socket's pace instead of buffering without bound, and the loop
// yields to the event loop every few hundred stanzas so IQs keep being answered.
import type { Element } from '@xmpp/xml';
import type { Logger } from '../log.js';
import type { ComponentLink } from './component.js';

const YIELD_EVERY = 256;

export class Outbox {
  private tail: Promise<void> = Promise.resolve();
  sent = 0;
  failed = 0;

  constructor(
    private readonly link: ComponentLink,
    private readonly log: Logger,
  ) {}

  /** Queues stanzas behind everything queued before; resolves when they left (or failed). */
  send(stanzas: Element | Element[]): Promise<void> {
    const list = Array.isArray(stanzas) ? stanzas : [stanzas];
    if (!list.length) return this.tail;
    this.tail = this.tail.then(() => this.write(list));
    return this.tail;
  }

  drain(): Promise<void> {
    return this.tail;
  }

  private async write(list: Element[]): Promise<void> {
    for (let i = 0; i < list.length; i++) {
      const el = list[i]!;
      try {
        await this.link.send(el);
        this.sent++;
      } catch (err) {
        this.failed++;
        // Nothing is lost for good: nodes catch up with after_seq / the registration get.
        this.log.warn({ err: { message: (err as Error).message }, to: el.attrs.to, name: el.name }, 'stanza not sent');
      }
      if ((i + 1) % YIELD_EVERY === 0) await new Promise<void>((r) => setImmediate(r));
    }
  }
}
