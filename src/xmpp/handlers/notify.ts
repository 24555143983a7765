// Outbound messages: XEP-0060 event notifications (with XEP-0131 headers), the §8.8.4
// subscription-ended notice, retract/purge/delete events, and the grid's subtopic messages
// (PROTOCOL §5). The delivery loop calls these; they only build stanzas.
import { randomBytes } from 'node:crypto';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import type { Published } from '../../topics/items.js';
import type { StoredItem } from '../../store/types.js';
import type { Delivery, Subscription, SubtopicView, TopicEvent } from '../../topics/types.js';
import type { Filter } from '../../filters/types.js';
import { STIX_CONTENT_TYPE } from '../../payloads/index.js';
import { NS } from '../ns.js';
import { FORM_TYPES } from '../form-types.js';
import { buildForm } from '../forms.js';
import { RawElement, storedPayload } from '../xmlnode.js';
import type { Outgoing } from '../multicast.js';


/** Message ids: unique per process run (random prefix) and cheap (a counter). */
function idSource(): () => string {
  const prefix = `n${randomBytes(4).toString('hex')}-`;
  let n = 0;
  return () => prefix + (++n).toString(36);
}
const nextId = idSource();

/** The item's payload element: XEP-0335 JSON for STIX 2.1, the stored element otherwise. */
export function payloadElement(contentType: string, payload: string): Element {
  return contentType === STIX_CONTENT_TYPE ? xml('json', { xmlns: NS.JSON }, payload) : storedPayload(payload);
}

/** `<event><items node><item id publisher>PAYLOAD</item></items></event>`, serialised once. */
export function itemsEvent(topicName: string, item: StoredItem, payload: Element): RawElement {
  return RawElement.of(
    xml('event', { xmlns: NS.PUBSUB_EVENT },
      xml('items', { node: topicName }, xml('item', { id: item.id, publisher: item.publisher }, payload))),
  );
}

/** XEP-0131 headers: SubID only where the JID holds several subscriptions to the topic. */
export function shimHeaders(item: Pick<StoredItem, 'seq' | 'published'> | null, subid: string | null): Element {
  return xml(
    'headers', { xmlns: NS.SHIM },
    subid ? xml('header', { name: 'SubID' }, subid) : null,
    item ? xml('header', { name: 'Grid-Seq' }, String(item.seq)) : null,
    item ? xml('header', { name: 'Grid-Published' }, item.published) : null,
  );
}

function message(domain: string, to: string, type: string | undefined, ...children: Element[]): Element {
  return xml('message', { from: domain, to, ...(type ? { type } : {}), id: nextId() }, ...children);
}

/** One notification, built on its own (no sharing): for callers outside the fan-out loop. */
export function notificationFor(domain: string, topicName: string, delivery: Delivery, item: StoredItem, contentType: string, type: 'normal' | 'headline' = 'normal'): Element {
  const event = itemsEvent(topicName, item, payloadElement(contentType, delivery.payload));
  return message(domain, delivery.subscription.jid, type, event, shimHeaders(item, delivery.needsSubId ? delivery.subscription.subid : null));
}

export interface Notifier {
  /** One message per delivery; deliveries with the same cutKey share one serialised event. */
  build(published: Published): Element[];
  /**
   * The same notifications as `build`, with those that differ only in `to` gathered into one
   * Fanout per cut (for XEP-0033 multicast, see multicast.ts); the ones that carry a SubID
   * header stay single messages.
   */
  fanouts(published: Published): Outgoing[];
}

/** The serialised `<event/>` of each delivery, made once per cutKey. */
function eventsByCut(p: Published): (d: Delivery) => RawElement {
  const events = new Map<string, RawElement>();
  return (d) => {
    let ev = events.get(d.cutKey);
    if (!ev) {
      ev = itemsEvent(d.subscription.topic, p.item, payloadElement(p.topic.contentType, d.payload));
      events.set(d.cutKey, ev);
    }
    return ev;
  };
}

/** The parts of a publish every notification of it carries besides the event. */
type Headers = Pick<StoredItem, 'seq' | 'published'> & { type: string | undefined };

export function makeNotifier(domain: string): Notifier {
  // A wrapper per message (so no element has two parents); the string is the shared one.
  // `first`: a child placed before the event (the multicast addresses).
  // `h`: what a message needs of its publish. The multicast layer remembers a fanout's build
  // until the server could refuse it (multicast.ts, 4,096 of them), so a build holds this, not
  // the whole publish (its deliveries, the item): that was 31 MB of heap after W1 in the bench.
  const notification = (h: Headers, to: string, ev: RawElement, subid: string | null, first?: Element): Element =>
    message(domain, to, h.type, ...(first ? [first] : []), new RawElement(ev.raw, ev), shimHeaders(h, subid));
  const headersOf = (p: Published): Headers => ({ type: p.topic.notificationType, seq: p.item.seq, published: p.item.published });
  return {
    build(p: Published): Element[] {
      const eventOf = eventsByCut(p);
      const h = headersOf(p);
      return p.deliveries.map((d) => notification(h, d.subscription.jid, eventOf(d), d.needsSubId ? d.subscription.subid : null));
    },
    fanouts(p: Published): Outgoing[] {
      const eventOf = eventsByCut(p);
      const h = headersOf(p);
      const groups = new Map<RawElement, string[]>();
      const out: Outgoing[] = [];
      for (const d of p.deliveries) {
        const ev = eventOf(d);
        if (d.needsSubId) {
          out.push(notification(h, d.subscription.jid, ev, d.subscription.subid));
          continue;
        }
        const recipients = groups.get(ev);
        if (recipients) recipients.push(d.subscription.jid);
        else groups.set(ev, [d.subscription.jid]);
      }
      for (const [ev, recipients] of groups) {
        out.push({ recipients, bytes: ev.raw.length + 512, build: (to, first) => notification(h, to, ev, null, first) });
      }
      return out;
    },
  };
}

/** XEP-0060 §8.8.4: the service ended a subscription. */
export function subscriptionEndedMessage(domain: string, sub: Subscription): Element {
  return message(domain, sub.jid, undefined,
    xml('event', { xmlns: NS.PUBSUB_EVENT },
      xml('subscription', { node: sub.topic, jid: sub.jid, subid: sub.subid, subscription: 'none' })));
}

/** How many subscriptions each JID holds among `subs` (for the SubID header). */
function perJid(subs: readonly Subscription[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of subs) m.set(s.jid, (m.get(s.jid) ?? 0) + 1);
  return m;
}

/** XEP-0060 §7.2.2.1: one `<retract id/>` notification per subscription. */
export function retractMessages(domain: string, topic: string, itemId: string, subs: readonly Subscription[]): Element[] {
  const counts = perJid(subs);
  return subs.map((s) => message(domain, s.jid, 'normal',
    xml('event', { xmlns: NS.PUBSUB_EVENT }, xml('items', { node: topic }, xml('retract', { id: itemId }))),
    ...((counts.get(s.jid) ?? 0) > 1 ? [shimHeaders(null, s.subid)] : [])));
}

/** Node-level events go once to each subscribed JID. */
function perJidMessages(domain: string, subs: readonly Subscription[], event: () => Element): Element[] {
  const seen = new Set<string>();
  const out: Element[] = [];
  for (const s of subs) {
    if (seen.has(s.jid)) continue;
    seen.add(s.jid);
    out.push(message(domain, s.jid, 'normal', event()));
  }
  return out;
}

/** XEP-0060 §8.5.2: `<purge node/>`. */
export function purgeMessages(domain: string, topic: string, subs: readonly Subscription[]): Element[] {
  return perJidMessages(domain, subs, () => xml('event', { xmlns: NS.PUBSUB_EVENT }, xml('purge', { node: topic })));
}

/** XEP-0060 §8.4.2: `<delete node/>`. */
export function deleteMessages(domain: string, topic: string, subs: readonly Subscription[]): Element[] {
  return perJidMessages(domain, subs, () => xml('event', { xmlns: NS.PUBSUB_EVENT }, xml('delete', { node: topic })));
}

/** The `urn:xmpp-grid:0#filter` result form of a subtopic (field names with `filter.`). */
export function filterForm(filter: Filter): Element {
  return buildForm('result', FORM_TYPES.filter, Object.entries(filter).map(([name, values]) => ({ var: `filter.${name}`, values })));
}

/** PROTOCOL §5: a subtopic was created (with its filter form) or deleted (node and parent only). */
export function subtopicMessage(domain: string, to: string, e: { action: 'created' | 'deleted'; subtopic: SubtopicView }): Element {
  const el = xml('subtopic', { xmlns: NS.GRID, action: e.action, node: e.subtopic.node, parent: e.subtopic.parent },
    e.action === 'created' ? filterForm(e.subtopic.filter) : null);
  return message(domain, to, undefined, el);
}

/** TopicService 'event' → stanzas: plugs into the lead's EventStanzas. */
export function eventStanzas(domain: string): { forEvent(e: TopicEvent): Element[] } {
  return {
    forEvent(e: TopicEvent): Element[] {
      switch (e.kind) {
        case 'subtopic': return e.publishers.map((p) => subtopicMessage(domain, p, e));
        case 'subscription-ended': return [subscriptionEndedMessage(domain, e.subscription)];
        case 'topic-deleted': return deleteMessages(domain, e.topic, e.subscriptions);
      }
    },
  };
}
