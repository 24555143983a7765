// XEP-0033 fan-out. A notification sent by a component costs the server one stanza parse per
// recipient; where the nodes' server offers multicast to the controller (Prosody with
// src/prosody/mod_grid_multicast.lua), identical notifications go out as ONE message to the
// server with <addresses> of type bcc, and the server copies it to each recipient.
//
// Discovery is per server host (multicast-discovery.ts: the host, else its disco#items, per
// XEP-0033 §2.2; the service's address limit if it advertises one, else 20), lazily on the
// first group for that host, and again after every reconnect. Until a host has answered, and
// wherever it offers no service, every recipient gets its own message, as before. A multicast
// the service refuses (its error comes from the service's JID) is never lost: refused with
// not-acceptable, the address limit is halved and the same recipients go out again in smaller
// lists; refused otherwise (or at 2 addresses), multicast is off for that host and each
// recipient gets its own message. A misconfigured server costs speed, never a notification.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import type { Logger } from '../log.js';
import { discoverMulticast, NS_ADDRESS, type DiscoQueries, type MulticastService } from './multicast-discovery.js';

export { NS_ADDRESS } from './multicast-discovery.js';

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

type HostState = { state: 'probing' | 'no' } | { state: 'yes'; service: MulticastService };

export interface MulticastOptions {
  mode: 'auto' | 'off';
  /** disco#info and disco#items over the component link. */
  disco: DiscoQueries;
  /** Largest stanza the controller may send (limits.stanza_bytes). */
  stanzaBytes: number;
  /** Addresses per multicast message at most, whatever the service allows (XEP-0033 §8). */
  maxAddresses?: number;
  log: Logger;
}

interface Sent { host: string; service: string; recipients: string[]; fanout: Fanout }

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
  private readonly inflight = new Map<string, Sent>();
  private readonly maxAddresses: number;
  private readonly probes = new Map<string, Promise<boolean>>();
  /** Multicast messages sent, and the deliveries they carried. */
  messages = 0;
  copies = 0;
  /** Deliveries re-sent one by one after the server refused a multicast. */
  fallbacks = 0;
  /** Deliveries re-sent in shorter address lists after a not-acceptable. */
  retried = 0;

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
    return this.probes.get(host) ?? Promise.resolve(this.offers(host));
  }

  /** Whether `host` has been found to offer multicast. */
  offers(host: string): boolean {
    return this.hosts.get(host)?.state === 'yes';
  }

  /** The multicast service found for `host` (its JID and the address limit in use), if any. */
  serviceOf(host: string): MulticastService | undefined {
    const h = this.hosts.get(host);
    return h?.state === 'yes' ? { ...h.service, limit: Math.min(h.service.limit, this.maxAddresses) } : undefined;
  }

  /** The hosts found to offer multicast since the last reset (what `status` shows). */
  offeringHosts(): string[] {
    return [...this.hosts].filter(([, v]) => v.state === 'yes').map(([h]) => h);
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
   * An error message: when it is the multicast service refusing one of our multicasts, the
   * messages that carry the same recipients instead are returned (smaller address lists after
   * not-acceptable, else one per recipient, multicast then off for that host); else null.
   */
  onError(st: Element): Element[] | null {
    const id = st.attrs.id as string | undefined;
    const from = st.attrs.from as string | undefined;
    if (!id || !from) return null;
    const sent = this.inflight.get(id);
    if (!sent || sent.service !== from) return null;
    this.inflight.delete(id);
    const condition = st.getChild('error')?.getChildElements()[0]?.name;
    const h = this.hosts.get(sent.host);
    // Halve what was refused, unless a smaller limit was learnt meanwhile.
    const limit = Math.min(Math.floor(sent.recipients.length / 2), h?.state === 'yes' ? h.service.limit : 0);
    if (condition === 'not-acceptable' && h?.state === 'yes' && limit >= 2) {
      if (h.service.limit !== limit) {
        h.service.limit = limit;
        this.o.log.warn({ host: sent.host, service: from, refused: sent.recipients.length, limit }, 'the multicast service refused an address list as too long: fewer addresses per message from now on (see the README on ejabberd limits)');
      }
      this.retried += sent.recipients.length;
      const out: Element[] = [];
      for (const chunk of this.chunks(sent.recipients, sent.fanout.bytes, limit)) out.push(this.multicast(sent.fanout, sent.host, h.service.jid, chunk));
      return out;
    }
    if (h?.state !== 'no') {
      this.o.log.warn({ host: sent.host, service: from, condition }, 'the server refused a multicast: one message per recipient from now on (see XEP-0033 fan-out in the README)');
    }
    this.hosts.set(sent.host, { state: 'no' });
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
      const service = recipients.length > 1 ? this.usable(host) : undefined;
      if (!service) {
        recipients.forEach(single);
        continue;
      }
      for (const chunk of this.chunks(recipients, o.bytes, service.limit)) {
        if (chunk.length < 2) chunk.forEach(single);
        else out.push(this.multicast(o, host, service.jid, chunk));
      }
    }
  }

  private multicast(o: Fanout, host: string, service: string, chunk: string[]): Element {
    const m = o.build(service, xml('addresses', { xmlns: NS_ADDRESS }, ...chunk.map((jid) => xml('address', { type: 'bcc', jid }))));
    this.remember(m.attrs.id as string, { host, service, recipients: chunk, fanout: o });
    this.messages++;
    this.copies += chunk.length;
    return m;
  }

  /** The service to multicast to for `host` (asked for on first use), or undefined. */
  private usable(host: string): MulticastService | undefined {
    if (!this.hosts.has(host)) this.probe(host);
    return this.serviceOf(host);
  }

  private probe(host: string): void {
    this.hosts.set(host, { state: 'probing' });
    const asked = discoverMulticast(host, this.o.disco).then(
      (service) => {
        if (this.hosts.get(host)?.state !== 'probing') return service !== undefined; // reset meanwhile: asked again later
        this.hosts.set(host, service ? { state: 'yes', service } : { state: 'no' });
        this.o.log.info({ host, multicast: !!service, ...(service ?? {}) }, service
          ? 'the server offers XEP-0033 multicast: identical notifications leave as one message per address list'
          : 'the server offers no XEP-0033 multicast: one message per recipient');
        return service !== undefined;
      },
      (err: unknown) => {
        if (this.hosts.get(host)?.state === 'probing') {
          this.hosts.set(host, { state: 'no' });
          this.o.log.warn({ host, err: { message: (err as Error).message } }, 'could not ask the server about multicast: one message per recipient until the next reconnect');
        }
        return false;
      },
    );
    this.probes.set(host, asked);
  }

  /** Address lists that keep each message under the stanza limit and the address limit. */
  private *chunks(recipients: string[], sharedBytes: number, limit: number): Generator<string[]> {
    const budget = this.o.stanzaBytes - sharedBytes - 1024;
    let chunk: string[] = [];
    let bytes = 0;
    for (const to of recipients) {
      const b = to.length + ADDRESS_OVERHEAD;
      if (chunk.length && (chunk.length >= limit || bytes + b > budget)) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push(to);
      bytes += b;
    }
    if (chunk.length) yield chunk;
  }

  private remember(id: string, entry: Sent): void {
    this.inflight.set(id, entry);
    if (this.inflight.size > INFLIGHT) this.inflight.delete(this.inflight.keys().next().value as string);
  }
}
