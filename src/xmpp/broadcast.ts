// The XMPP door listens to the core's broadcaster (topics/events.ts) and turns what happened
// into stanzas: notifications (cut per subscription, XEP-0033 multicast, SHIM headers),
// retract/purge/delete events, subtopic and subscription-ended messages, and the account
// messages to nodes and administrators. A publish through any door reaches XMPP subscribers here.
import type { Element } from '@xmpp/xml';
import type { Broadcaster, GridEvent } from '../topics/events.js';
import type { MetricsSink } from '../metrics/sink.js';
import type { Outbox } from './outbox.js';
import type { Multicast } from './multicast.js';
import { eventStanzas, makeNotifier, retractMessages, purgeMessages } from './handlers/notify.js';
import { accountMessage, pendingMessage, systemDecisionMessage } from './handlers/register.js';

export interface BroadcastDeps {
  events: Broadcaster;
  domain: string;
  outbox: Outbox;
  multicast: Multicast;
  metrics?: Pick<MetricsSink, 'delivered'>;
}

/** Subscribes the door; returns the unsubscribe. */
export function installBroadcast(d: BroadcastDeps): () => void {
  const notifications = makeNotifier(d.domain);
  const topicEvents = eventStanzas(d.domain);
  const send = (stanzas: Element[]) => {
    if (stanzas.length) void d.outbox.send(stanzas);
  };
  const release = d.events.hold(() => d.outbox.belowHighWater());
  const off = d.events.on((e: GridEvent) => {
    switch (e.kind) {
      case 'published': {
        // The publish has been answered (the item is stored); delivery follows in order.
        const { stanzas, deliveries } = d.multicast.expand(notifications.fanouts(e.published));
        d.metrics?.delivered(e.published.topic.name, deliveries);
        void d.outbox.send(stanzas, deliveries);
        return;
      }
      case 'retracted':
        if (e.notify) send(retractMessages(d.domain, e.node, e.itemId, e.subscriptions));
        return;
      case 'purged': return send(purgeMessages(d.domain, e.topic, e.subscriptions));
      case 'configured': return; // XEP-0060 §8.2.5 configuration notifications are not offered
      case 'account-changed':
        send([accountMessage(d.domain, e.change)]);
        send(e.tellAdmins.map((admin) => systemDecisionMessage(d.domain, admin, e.change)));
        return;
      case 'account-pending': return send(e.admins.map((admin) => pendingMessage(d.domain, admin, e.account)));
      default: return send(topicEvents.forEvent(e));
    }
  });
  return () => {
    off();
    release();
  };
}
