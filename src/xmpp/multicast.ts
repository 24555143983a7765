// XEP-0033 fan-out. A notification sent by a component costs the server one stanza parse per
// recipient; where the nodes' server offers multicast to the controller (Prosody with
// src/prosody/mod_grid_multicast.lua), identical notifications go out as ONE message to the
// server with <addresses> of type bcc, and the server copies it to each recipient.
//
// Discovery is per server host (XEP-0033 §2.1: disco#info on the server, feature
// http://jabber.org/protocol/address), lazily on the first group for that host, and again after
// every reconnect. Until a host has answered, and wherever it does not offer the feature, every
// recipient gets its own message, as before. A multicast the server refuses (its error comes
// from the host itself) turns multicast off for that host and is re-sent one message per
// recipient, so a misconfigured server costs speed, never a notification.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import type { Logger } from '../log.js';

export const NS_ADDRESS = 'http://jabber.org/protocol/address';

/** Messages identical but for `to`: `build(to, first)` makes one, `first` its first child. */
export interface Fanout {
  recipients: string[];
  /** Serialised size of the shared part, bytes (a bound, for cutting address lists). */
  bytes: number;
  build(to: string, first?: Element): Element;
}

export type Outgoing = Element | Fanout;

export function isFanout(o: Outgoing): o is Fanout {
  return Array.isArray((o as Fanout).recipients);
}

type HostState = 'probing' | 'yes' | 'no';

export interface MulticastOptions {
  mode: 'auto' | 'off';
  /** disco#info of `host`: its feature vars (rejects on error or timeout). */
  discoFeatures: (host: string) => Promise<string[]>;
  /** Largest stanza the controller may send (limits.stanza_bytes). */
  stanzaBytes: number;
  /** Addresses per multicast message; XEP-0033 §8 lets a service refuse more than its limit (at least 50). */
  maxAddresses?: number;
  log: Logger;
}

/** Multicast messages remembered for a fallback if the server refuses them. */
const INFLIGHT = 4096;
/** Bytes per `<address type='bcc' jid='…'/>` besides the JID itself. */
const ADDRESS_OVERHEAD = 40;

function hostOf(jid: string): string {
  const at = jid.indexOf('@');
  const slash = jid.indexOf('/', at + 1);
  return jid.slice(at + 1, slash < 0 ? undefined : slash);
}

function groupByHost(jids: readonly string[]): Map<string, string[]> {
  const byHost = new Map<string, string[]>();
  for (const to of jids) {
    const h = hostOf(to);
    const list = byHost.get(h);
    if (list) list.push(to);
    else byHost.set(h, [to]);
  }
  return byHost;
}

export class Multicast {
  private readonly hosts = new Map<string, HostState>();
  private readonly inflight = new Map<string, { host: string; recipients: string[]; fanout: Fanout }>();
  private readonly maxAddresses: number;
  private readonly probes = new Map<string, Promise<boolean>>();
  /** Multicast messages sent, and the deliveries they carried. */
  messages = 0;
  copies = 0;
  /** Deliveries re-sent one by one after the server refused a multicast. */
  fallbacks = 0;

  constructor(private readonly o: MulticastOptions) {
    this.maxAddresses = o.maxAddresses ?? 500;
  }

  /** Forget what the server offered (call when the component link comes back). */
  reset(): void {
    this.hosts.clear();
    this.probes.clear();
  }

  /** Asks `host` now unless it was asked since the last reset; resolves with whether it offers multicast. */
  whenKnown(host: string): Promise<boolean> {
    if (this.o.mode === 'off') return Promise.resolve(false);
    if (!this.hosts.has(host)) this.probe(host);
    return this.probes.get(host) ?? Promise.resolve(this.hosts.get(host) === 'yes');
  }

  /** Whether `host` has been found to offer multicast. */
  offers(host: string): boolean {
    return this.hosts.get(host) === 'yes';
  }

  /** The hosts found to offer multicast since the last reset (what `status` shows). */
  offeringHosts(): string[] {
    return [...this.hosts].filter(([, v]) => v === 'yes').map(([h]) => h);
  }

  /** Messages to write, and how many deliveries they carry (the outbox's backpressure weight). */
  expand(items: readonly Outgoing[]): { stanzas: Element[]; deliveries: number } {
    const stanzas: Element[] = [];
    let deliveries = 0;
    for (const o of items) {
      if (!isFanout(o)) {
        stanzas.push(o);
        deliveries++;
        continue;
      }
      deliveries += o.recipients.length;
      this.fanOut(o, stanzas);
    }
    return { stanzas, deliveries };
  }

  /**
   * An error message: when it is the server refusing one of our multicasts, multicast is
   * turned off for that host and the messages to send instead are returned; else null.
   */
  onError(st: Element): Element[] | null {
    const id = st.attrs.id as string | undefined;
    const from = st.attrs.from as string | undefined;
    if (!id || !from) return null;
    const sent = this.inflight.get(id);
    if (!sent || sent.host !== from) return null;
    this.inflight.delete(id);
    const condition = st.getChild('error')?.getChildElements()[0]?.name;
    if (this.hosts.get(from) !== 'no') {
      this.o.log.warn({ host: from, condition }, 'the server refused a multicast: one message per recipient from now on (see mod_grid_multicast in the README)');
    }
    this.hosts.set(from, 'no');
    this.fallbacks += sent.recipients.length;
    return sent.recipients.map((to) => sent.fanout.build(to));
  }

  /** `o` as messages: one multicast per chunk of a host that offers it, else one per recipient. */
  private fanOut(o: Fanout, out: Element[]): void {
    const single = (to: string) => out.push(o.build(to));
    if (this.o.mode === 'off' || o.recipients.length < 2) {
      o.recipients.forEach(single);
      return;
    }
    for (const [host, recipients] of groupByHost(o.recipients)) {
      const multi = recipients.length > 1 && this.usable(host);
      for (const chunk of multi ? this.chunks(recipients, o.bytes) : [recipients]) {
        if (!multi || chunk.length < 2) chunk.forEach(single);
        else out.push(this.multicast(o, host, chunk));
      }
    }
  }

  private multicast(o: Fanout, host: string, chunk: string[]): Element {
    const m = o.build(host, xml('addresses', { xmlns: NS_ADDRESS }, ...chunk.map((jid) => xml('address', { type: 'bcc', jid }))));
    this.remember(m.attrs.id as string, { host, recipients: chunk, fanout: o });
    this.messages++;
    this.copies += chunk.length;
    return m;
  }

  private usable(host: string): boolean {
    const state = this.hosts.get(host);
    if (state === undefined) this.probe(host);
    return state === 'yes';
  }

  private probe(host: string): void {
    this.hosts.set(host, 'probing');
    const asked = this.o.discoFeatures(host).then(
      (features) => {
        const yes = features.includes(NS_ADDRESS);
        if (this.hosts.get(host) !== 'probing') return yes; // reset meanwhile: asked again later
        this.hosts.set(host, yes ? 'yes' : 'no');
        this.o.log.info({ host, multicast: yes }, yes
          ? 'the server offers XEP-0033 multicast: identical notifications leave as one message'
          : 'the server offers no XEP-0033 multicast: one message per recipient');
        return yes;
      },
      (err: unknown) => {
        if (this.hosts.get(host) === 'probing') {
          this.hosts.set(host, 'no');
          this.o.log.warn({ host, err: { message: (err as Error).message } }, 'could not ask the server about multicast: one message per recipient until the next reconnect');
        }
        return false;
      },
    );
    this.probes.set(host, asked);
  }

  /** Address lists that keep each message under the stanza limit and the address limit. */
  private *chunks(recipients: string[], sharedBytes: number): Generator<string[]> {
    const budget = this.o.stanzaBytes - sharedBytes - 1024;
    let chunk: string[] = [];
    let bytes = 0;
    for (const to of recipients) {
      const b = to.length + ADDRESS_OVERHEAD;
      if (chunk.length && (chunk.length >= this.maxAddresses || bytes + b > budget)) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push(to);
      bytes += b;
    }
    if (chunk.length) yield chunk;
  }

  private remember(id: string, entry: { host: string; recipients: string[]; fanout: Fanout }): void {
    this.inflight.set(id, entry);
    if (this.inflight.size > INFLIGHT) this.inflight.delete(this.inflight.keys().next().value as string);
  }
}
