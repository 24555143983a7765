// The XEP-0114 component link: connect, reconnect with backoff and jitter, keep every
// outgoing stanza inside our own domain, respect the socket's backpressure, stop cleanly.
import { EventEmitter } from 'node:events';
import { component, xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import type { Component } from '@xmpp/component';
import type { Logger } from '../log.js';
import type { Router } from './router.js';
import { Egress, isOurs } from './egress.js';
import type { MetricsSink } from '../metrics/sink.js';
import { iqTimer, observeLink } from './observe.js';

export interface LinkOptions {
  service: string;
  domain: string;
  secret: string;
  reconnectMaxMs: number;
  /** limits.stanza_bytes: nothing larger is ever written (egress.ts). */
  stanzaBytes: number;
  log: Logger;
  metrics?: MetricsSink;
}

export class ComponentLink extends EventEmitter {
  readonly xmpp: Component;
  private stopping = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private reconnecting = false;
  /** The first start() is under way: its own loop retries, the disconnect handler must not. */
  private starting = false;
  private wake: (() => void) | undefined;
  private lastError: (Error & { condition?: string }) | undefined;
  readonly egress: Egress;

  constructor(private readonly opts: LinkOptions, router: Router) {
    super();
    this.xmpp = component({ service: opts.service, domain: opts.domain, password: opts.secret });
    this.egress = new Egress(opts.domain, opts.stanzaBytes, opts.log);
    // Every stanza the library sends (IQ answers from the callee, IQ requests from the caller,
    // ours) goes through the egress check; the outbox calls it for what it batches. Nonzas
    // (handshake, stream errors) pass as they are.
    const libSend = this.xmpp.send.bind(this.xmpp);
    this.xmpp.send = async (el: Element): Promise<void> => {
      if (el.name !== 'iq' && el.name !== 'message' && el.name !== 'presence') return libSend(el);
      const text = this.egress.serialise(el);
      if (text === null) {
        // A request of ours must fail at its caller, not wait for a timeout.
        if (el.name === 'iq' && (el.attrs.type === 'get' || el.attrs.type === 'set')) throw new Error('stanza not sent: outside our domain or over limits.stanza_bytes');
        return;
      }
      await this.xmpp.write(text);
    };
    // We schedule reconnects ourselves (with backoff); the library's fixed 1 s retry is off.
    this.xmpp.reconnect.stop();
    if (opts.metrics) {
      observeLink(this.xmpp, opts.metrics);
      this.xmpp.middleware.use(iqTimer(opts.metrics));
    }
    this.xmpp.middleware.use(router.middleware);
    this.xmpp.on('error', (err) => {
      this.lastError = err;
      opts.log.warn({ err: { message: err.message, condition: err.condition } }, 'component link error');
    });
    // Nagle off on the component stream: an IQ result written just after a notification would
    // otherwise wait for the server's delayed ACK of that notification (up to 40 ms on Linux).
    this.xmpp.on('connect', () => {
      (this.xmpp.socket as { setNoDelay?: (on: boolean) => unknown } | null)?.setNoDelay?.(true);
    });
    this.xmpp.on('online', () => {
      this.attempt = 0;
      clearTimeout(this.timer);
      this.timer = undefined;
      opts.log.info({ domain: opts.domain, service: opts.service }, 'component online');
      this.emit('online');
    });
    this.xmpp.on('disconnect', () => {
      if (this.stopping || this.starting) return;
      opts.log.warn({ service: opts.service }, 'component link lost');
      this.emit('offline');
      this.scheduleReconnect();
    });
  }

  /**
   * Resolves once the server accepted the component. While the server cannot be reached (not
   * up yet, restarting) it keeps trying, with the reconnect backoff and one log line per
   * attempt; a server that answers and refuses (wrong secret, unknown component) rejects at
   * once with one clear reason: retrying cannot mend the configuration.
   */
  async start(): Promise<void> {
    this.starting = true;
    try {
      for (let attempt = 1; ; attempt++) {
        this.lastError = undefined;
        try {
          await this.xmpp.start();
          return;
        } catch (err) {
          const e: Error & { condition?: string } = this.lastError ?? (err as Error);
          if (e.condition || this.stopping) throw new Error(`cannot join ${this.opts.service} as ${this.opts.domain}: ${refusal(e)}`);
          const delay = backoff(this.opts.reconnectMaxMs, attempt - 1);
          this.opts.log.warn({ service: this.opts.service, attempt, retry_in_ms: delay, err: { message: e.message } }, 'XMPP server not reachable; retrying');
          await this.xmpp.stop().catch(() => undefined); // back to offline, so start() may run again
          await new Promise<void>((resolve) => {
            this.timer = setTimeout(resolve, delay);
            this.wake = resolve;
          });
          this.timer = undefined;
          this.wake = undefined;
          if (this.stopping) throw new Error(`stopped before ${this.opts.service} could be reached`);
        }
      }
    } finally {
      this.starting = false;
    }
  }

  /** True while a reconnect attempt is waiting for its turn or under way. */
  get reconnectPending(): boolean {
    return this.timer !== undefined || this.reconnecting;
  }

  get online(): boolean {
    return this.xmpp.status === 'online';
  }

  /**
   * Sends a stanza. Resolves when the socket took it, so awaiting sends is backpressure.
   * A stanza from outside our domain or over limits.stanza_bytes would make the server close
   * the whole component stream: the egress check drops it (an IQ answer becomes an error).
   */
  async send(el: Element): Promise<void> {
    if (!this.online) throw new Error('component link is offline');
    await this.xmpp.send(el);
  }

  /** The egress check (egress.ts): the text to write for `el`, or null when it must not leave. */
  serialise(el: Element): string | null {
    return this.egress.serialise(el);
  }

  /** Stanzas dropped because their from was outside our domain (a bug if ever non-zero). */
  get dropped(): number {
    return this.egress.foreign;
  }

  /** Stanzas not written because they exceeded limits.stanza_bytes. */
  get oversized(): number {
    return this.egress.oversized;
  }

  /** Sends an IQ get/set and resolves with the result (rejects on an error or after `timeoutMs`). */
  async request(iq: Element, timeoutMs = 10_000): Promise<Element> {
    if (!this.online) throw new Error('component link is offline');
    return this.xmpp.iqCaller.request(iq, timeoutMs);
  }

  /** Writes stanzas already through `serialise`: one write for many. */
  async writeRaw(serialised: string): Promise<void> {
    if (!this.online) throw new Error('component link is offline');
    await this.xmpp.write(serialised);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.wake?.();
    try {
      await this.xmpp.stop();
    } catch (err) {
      this.opts.log.debug({ err }, 'error while closing the component stream');
    }
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.reconnecting) return;
    clearTimeout(this.timer);
    const delay = backoff(this.opts.reconnectMaxMs, this.attempt);
    this.attempt++;
    this.opts.log.info({ delay_ms: delay, attempt: this.attempt }, 'reconnecting');
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tryReconnect();
    }, delay);
  }

  private async tryReconnect(): Promise<void> {
    if (this.stopping) return;
    this.reconnecting = true;
    let online = false;
    try {
      // reconnect() resolves once the stream is open; the handshake follows asynchronously.
      // Wait for its outcome: starting another attempt meanwhile would open a second
      // component session, which the server refuses (conflict) and which replaces the first.
      const outcome = this.outcome(15_000);
      await this.xmpp.reconnect.reconnect();
      online = await outcome;
    } catch (err) {
      this.opts.log.warn({ err: { message: (err as Error).message } }, 'reconnect failed');
    }
    if (!online && !this.stopping && this.xmpp.status !== 'disconnect' && this.xmpp.status !== 'offline') {
      await this.xmpp.disconnect().catch(() => undefined); // never leave a half-open session behind
    }
    this.reconnecting = false;
    if (!online) this.scheduleReconnect();
  }

  /** Resolves true when the link comes online, false on a disconnect or after `ms`. */
  private outcome(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (v: boolean) => {
        clearTimeout(timer);
        this.xmpp.removeListener('online', onOnline);
        this.xmpp.removeListener('disconnect', onOff);
        resolve(v);
      };
      const onOnline = () => done(true);
      const onOff = () => done(false);
      const timer = setTimeout(() => done(false), ms);
      timer.unref();
      this.xmpp.on('online', onOnline);
      this.xmpp.on('disconnect', onOff);
    });
  }
}

/** 0.5 s doubling up to `maxMs`, with "equal jitter" (half fixed, half random). */
function backoff(maxMs: number, attempt: number): number {
  const base = Math.min(maxMs, 500 * 2 ** Math.min(attempt, 10));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

function refusal(e: Error & { condition?: string }): string {
  if (e.condition === 'not-authorized') return 'the server refused the component secret (not-authorized)';
  return e.condition ? `the server refused the component: ${e.condition}` : e.message;
}

export { isOurs };

export { xml };
