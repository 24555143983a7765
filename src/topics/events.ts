// The core's broadcaster (Prosody's util/pubsub.lua `config.broadcaster`): the services
// emit what happened — an item published with its deliveries, retracted, purged, a topic
// deleted or configured, an account changed — and the doors listen and turn it into their
// own messages. A publish that arrives through any door therefore reaches every XMPP
// subscriber with no door-specific call. Pure: nothing here knows a stanza.
import type { Logger } from '../log.js';
import type { Account, AccountChange } from '../accounts/types.js';
import type { StoredItem } from '../store/types.js';
import type { Delivery, Subscription, Topic, TopicEvent } from './types.js';

/** An item stored and who receives which cut of it (ItemService.plan). */
export interface Published {
  topic: Topic;
  node: string;
  item: StoredItem;
  deliveries: Delivery[];
}

export type ItemEvent =
  | { kind: 'published'; published: Published }
  /** `notify`: the publisher asked for retract notifications (XEP-0060 §7.2.2.1). */
  | { kind: 'retracted'; topic: string; node: string; itemId: string; subscriptions: Subscription[]; notify: boolean }
  | { kind: 'purged'; topic: string; subscriptions: Subscription[] }
  /** `trimmed`: items dropped because max_items was lowered. */
  | { kind: 'configured'; topic: Topic; trimmed: number };

export type AccountEvent =
  /** `tellAdmins`: the controller decided on its own (CRL, expiry): these admins hear of it. */
  | { kind: 'account-changed'; change: AccountChange; tellAdmins: string[] }
  | { kind: 'account-pending'; account: Account; admins: string[] };

export type GridEvent = TopicEvent | ItemEvent | AccountEvent;

export type GridListener = (e: GridEvent) => void;

export class Broadcaster {
  private readonly listeners = new Set<GridListener>();
  private readonly holds = new Set<() => Promise<void>>();

  constructor(private readonly log?: Logger) {}

  /** Subscribes a door; returns the unsubscribe. */
  on(listener: GridListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Listeners build and queue messages. One that throws must not abort the service midway,
   * nor keep the other doors from hearing.
   */
  emit(e: GridEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log?.error({ err, event: e.kind }, 'event listener failed');
      }
    }
  }

  /**
   * Publish backpressure: a door whose outgoing queue is over its high-water mark makes
   * publishers wait (`until` resolves when it is below), so a publisher's window bounds the
   * backlog instead of the controller's memory. Returns the release.
   */
  hold(until: () => Promise<void>): () => void {
    this.holds.add(until);
    return () => this.holds.delete(until);
  }

  /** Resolves when every door is ready for more deliveries. */
  async drained(): Promise<void> {
    for (const h of this.holds) await h();
  }
}
