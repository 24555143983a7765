// The topic service's vocabulary (PROTOCOL §3, §5, §6, §7).
import type { ContentInput } from '../payloads/types.js';
import type { Filter, FilterCaps } from '../filters/types.js';
import type { Decision, PolicySubject, Tlp, TopicDecl } from '../policy/types.js';

export type { PolicySubject, Decision };

/** A topic's settings: those a policy file declares (TopicDecl), the notification type resolved. */
export type TopicConfig = Omit<TopicDecl, 'name' | 'file' | 'line' | 'notificationType'> & { notificationType: 'normal' | 'headline' };

export interface Topic extends TopicConfig {
  name: string;
  /** `policy`: declared in the policy files; `create`: made with XEP-0060 create. */
  source: 'policy' | 'create';
  /** Bare JID of the creator (owner affiliation); undefined for policy topics. */
  owner?: string;
  /** Bare JIDs with the publisher affiliation (§6). */
  publishers: string[];
  createdAt: string;
}

export interface Subscription {
  subid: string;
  topic: string;
  /** The JID as subscribed (full or bare): where notifications go. */
  jid: string;
  /** The account's bare JID. */
  owner: string;
  /** Canonical filter, or null for a plain subscription. */
  filter: Filter | null;
  /** Subtopic node id (`topic~hash`), or null for a plain subscription. */
  subtopic: string | null;
  /**
   * XEP-0060 §12.4 temporary subscription (`pubsub#expire` = `presence`, full JIDs only): it
   * ends when that resource goes offline (the server's unavailable presence).
   */
  expire?: 'presence';
  createdAt: string;
}

export interface TopicsState {
  version: 1;
  topics: Record<string, Topic>;
  subscriptions: Record<string, Subscription>;
}

/** What one account or topic may hold (config `limits.*`); each refusal names its cap. */
export interface TopicLimits {
  subscriptionsPerAccount: number;
  subtopicsPerTopic: number;
  /** Topics created with XEP-0060 create; policy topics do not count. */
  topicsPerAccount: number;
  /** Largest pubsub#max_items of a created or configured topic. */
  maxItems: number;
  filter: FilterCaps;
}

export interface SubtopicView {
  node: string;
  parent: string;
  filter: Filter;
  subscribers: number;
}

/** What the service tells the outside world; the xmpp layer turns these into stanzas. */
export type TopicEvent =
  | { kind: 'subtopic'; action: 'created' | 'deleted'; subtopic: SubtopicView; publishers: string[] }
  | { kind: 'subscription-ended'; subscription: Subscription; reason: string }
  | { kind: 'topic-deleted'; topic: string; subscriptions: Subscription[] };

/**
 * What a door hands to ItemService.publish: the content (JSON text, or one XML element) and,
 * when the door counts it differently, the bytes limits.payload_bytes is checked against
 * (XMPP counts the payload element as serialised, §5); default the UTF-8 length of the text.
 */
export type PublishInput = ContentInput & { bytes?: number };

/** What a permitting rule lets a node receive: the one cap type, filters/types.ts TlpCap. */
export type { TlpCap } from '../filters/types.js';

/** One notification to send: the payload for this subscription (already cut), once per (node, item, cut). */
export interface Delivery {
  subscription: Subscription;
  /** Key of the cut: recipients with the same key share one serialised payload. */
  cutKey: string;
  /** For STIX topics the cut JSON; for XML topics the stored element text. */
  payload: string;
  /** True when the SubID header is needed (the JID holds several subscriptions to the topic). */
  needsSubId: boolean;
}
