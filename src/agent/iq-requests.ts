// Outstanding IQ requests of one connection, matched to their replies by id. Replaces
// @xmpp/iq's caller for the node's own requests: that caller rejects a reply's promise
// before anyone listens to it when the reply overtakes the socket write's callback (the
// server answers at once when the controller is down, many requests in flight), and Node
// ends the host program on the unhandled rejection. Here every request's promise is
// listened to from the start, and a lost stream fails what is still waiting at once.
import { randomBytes } from 'node:crypto';
import type { Element } from '@xmpp/xml';
import { parseStanzaError } from './stanza-error.js';

interface Pending {
  resolve(el: Element): void;
  reject(err: Error): void;
}

export class IqTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

export class IqRequests {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly send: (el: Element) => Promise<unknown>) {}

  get size(): number { return this.pending.size; }

  /** Takes an incoming stanza; true when it was the reply to one of these requests. */
  route(stanza: Element): boolean {
    const { type, id } = stanza.attrs as { type?: string; id?: string };
    if (stanza.name !== 'iq' || (type !== 'result' && type !== 'error') || !id) return false;
    const p = this.pending.get(id);
    if (!p) return false;
    this.pending.delete(id);
    if (type === 'result') p.resolve(stanza);
    else p.reject(parseStanzaError(stanza) ?? new Error(`iq error reply without <error/> (id ${id})`));
    return true;
  }

  /** Sends an iq get/set; resolves with the result iq, rejects with StanzaError, a send error or a timeout. */
  async request(el: Element, timeoutMs: number): Promise<Element> {
    const id = el.attrs.id ?? (el.attrs.id = randomBytes(6).toString('hex'));
    let timer: NodeJS.Timeout | undefined;
    const reply = new Promise<Element>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new IqTimeoutError(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      // Both at once: the reply may settle before the write's callback, and is awaited either way.
      const [, r] = await Promise.all([this.send(el), reply]);
      return r;
    } finally {
      clearTimeout(timer);
      this.pending.delete(id);
    }
  }

  /** Fails every request still waiting (the stream is gone: no reply will come). */
  failAll(err: Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.reject(err);
  }
}
