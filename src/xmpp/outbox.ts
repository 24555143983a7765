// Ordered, batched, backpressured sending. Stanzas are serialised (a notification's shared
// <event> only once, see notify.ts) and written in chunks of about 64 KiB: one socket write
// for many stanzas instead of one write and one callback each. Every chunk is awaited (the
// socket's write callback), so a large fan-out follows the socket's pace instead of
// buffering without bound, and the loop yields to the event loop between chunks so IQs keep
// being answered.
import type { Element } from '@xmpp/xml';
import type { Logger } from '../log.js';
import type { ComponentLink } from './component.js';
import { NO_METRICS, stanzaKind, type MetricsSink } from '../metrics/sink.js';

const CHUNK_CHARS = 64 * 1024;
/** Queued deliveries above which publishers are held back (about 15–50 MB of notifications). */
export const HIGH_WATER = 10_000;

export class Outbox {
  private tail: Promise<void> = Promise.resolve();
  sent = 0;
  failed = 0;
  /** Messages the server returned as errors (e.g. a notification to an offline node). */
  bounced = 0;
  /** Deliveries queued and not yet written. */
  queued = 0;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly link: ComponentLink,
    private readonly log: Logger,
    private readonly metrics: MetricsSink = NO_METRICS,
  ) {}

  /** Queues stanzas behind everything queued before; resolves when they left (or failed). */
  /**
   * Queues stanzas in order. `weight`: the deliveries they carry (a multicast message carries
   * many), counted against the high-water mark; default one per stanza.
   */
  send(stanzas: Element | Element[], weight?: number): Promise<void> {
    const list = Array.isArray(stanzas) ? stanzas : [stanzas];
    if (!list.length) return this.tail;
    const w = weight ?? list.length;
    this.queued += w;
    // A failure must not poison the queue: later sends still go, and nothing is left unhandled.
    this.tail = this.tail.then(() => this.write(list)).catch((err: unknown) => {
      this.failed += list.length;
      this.log.error({ err }, 'could not send stanzas');
    }).finally(() => {
      this.queued -= w;
      this.release();
    });
    return this.tail;
  }

  /** Resolves at once below `limit` queued stanzas, else when the queue has drained below it. */
  belowHighWater(limit = HIGH_WATER): Promise<void> {
    if (this.queued < limit) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    if (this.queued >= HIGH_WATER || !this.waiters.length) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Stanzas the egress check kept back for their size (see egress.ts). */
  get oversized(): number {
    return this.link.oversized;
  }

  drain(): Promise<void> {
    return this.tail;
  }

  private async write(list: Element[]): Promise<void> {
    let chunk: string[] = [];
    let chars = 0;
    let count = 0;
    let kinds = new Map<string, number>();
    for (const el of list) {
      // The egress check (domain, limits.stanza_bytes): what would not fit is never written.
      const s = this.link.serialise(el);
      if (s === null) continue;
      chunk.push(s);
      chars += s.length;
      count++;
      const kind = stanzaKind(el.name, el.attrs.type);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      if (chars >= CHUNK_CHARS) {
        await this.flush(chunk, count, kinds);
        chunk = [];
        chars = 0;
        count = 0;
        kinds = new Map();
        await new Promise<void>((r) => setImmediate(r));
      }
    }
    if (count) await this.flush(chunk, count, kinds);
  }

  private async flush(chunk: string[], count: number, kinds: Map<string, number>): Promise<void> {
    try {
      await this.link.writeRaw(chunk.join(''));
      this.sent += count;
      for (const [kind, n] of kinds) this.metrics.stanzaOut(kind, n);
    } catch (err) {
      this.failed += count;
      // Nothing is lost for good: nodes catch up with after_seq / the registration get.
      this.log.warn({ err: { message: (err as Error).message }, stanzas: count }, 'stanzas not sent');
    }
  }
}
