// Vocabulary of the grid client (GridClient), on top of the connection's types.ts.
import type { ConnectNodeOptions } from './types.js';

export type AccountStatus = 'pending' | 'approved' | 'denied' | 'revoked' | 'removed';
export type Tlp = 'clear' | 'white' | 'green' | 'amber' | 'amber+strict' | 'red';

export interface GridClientOptions extends ConnectNodeOptions {
  /** JID of the controller component; default `controller.<domain>`. */
  controller?: string;
  /** Reconnect after a lost connection (default true), with backoff from 1 s up to maxBackoffMs. */
  reconnect?: boolean;
  maxBackoffMs?: number;
  /** Deadline of each request to the controller, ms (default 15 000). */
  requestTimeoutMs?: number;
}

/** The account as the controller reports it (§2); `registered` false when there is none. */
export interface AccountState {
  registered: boolean;
  status?: AccountStatus;
  groups: string[];
}

export interface RegisterOptions {
  groups?: string[];
  deviceType?: string;
  description?: string;
}

/** Filter fields by name without prefix (§5): values within a field are OR, fields AND. */
export interface Filter {
  type?: string[];
  id?: string[];
  spec_version?: string[];
  labels?: string[];
  tlp?: Tlp[];
  min_confidence?: number | string;
  created_by_ref?: string[];
  pattern_type?: string[];
  kill_chain_phase?: string[];
  /** Fields the topic declares in filter-fields. */
  [declared: string]: string[] | number | string | undefined;
}

/** What the controller advertises on its own disco#info (XEP-0128 form urn:xmpp-grid:0#limits). */
export interface GridLimits {
  /** Largest item payload the grid accepts, bytes (the controller's limits.payload_bytes). */
  payloadBytes?: number;
}

export interface TopicInfo {
  node: string;
  name?: string;
  title?: string;
  description?: string;
  /** Payload root namespace (pubsub#type). */
  payloadType?: string;
  contentType?: string;
  filtering?: string;
  filterFields: string[];
  publishers: string[];
  subscribers?: number;
}

export interface SubtopicInfo {
  node: string;
  subscribers?: number;
  filter: Record<string, string[]>;
}

/** A STIX object, bundle or envelope (JS value → XEP-0335 JSON), or an XML document as text. */
export type Payload = Record<string, unknown> | string;

export interface Subscription {
  topic: string;
  subid: string;
  subtopic?: string;
  filter?: Filter;
  /** True (the default): it ends when this client's session does (XEP-0060 §12.4, `pubsub#expire`=presence). */
  temporary?: boolean;
}

export interface SubscribeOptions {
  /**
   * Keep the subscription after this client disconnects (default false: a temporary
   * subscription the controller ends at logout). Kept subscriptions are addressed to this
   * client's full JID: useful with a fixed `resource` that comes back.
   */
  keep?: boolean;
}

export interface ItemEvent {
  kind: 'item';
  topic: string;
  id: string;
  publisher?: string;
  seq?: number;
  published?: string;
  subid?: string;
  /** Parsed JSON for STIX topics, the serialised XML element otherwise. */
  payload: object | string;
}
export interface RetractEvent { kind: 'retract'; topic: string; id: string; subid?: string }
export interface SubscriptionEndedEvent { kind: 'subscription-ended'; topic: string; jid?: string; subid?: string }
export interface AccountEvent { kind: 'account'; status: AccountStatus; groups: string[] }
export interface SubtopicEvent {
  kind: 'subtopic';
  action: 'created' | 'deleted';
  node: string;
  parent: string;
  filter?: Record<string, string[]>;
}
export interface TopicGoneEvent { kind: 'purge' | 'delete'; topic: string }
/** The connection was lost and restored; `resubscribed` lists subscriptions that were renewed. */
export interface ReconnectedEvent { kind: 'reconnected'; resubscribed: Subscription[] }

/** The connection was lost; the client is reconnecting (a `reconnected` follows when it is back). */
export interface DisconnectedEvent { kind: 'disconnected' }

export type GridEvent = ItemEvent | RetractEvent | SubscriptionEndedEvent | AccountEvent | SubtopicEvent | TopicGoneEvent | ReconnectedEvent | DisconnectedEvent;

export interface QueryOptions {
  filter?: Filter;
  afterSeq?: number;
  /** XEP-0082 date-time: items published strictly after it. */
  addedAfter?: string;
  /** Page size (RSM max; the controller clamps to 1000). */
  max?: number;
  /** Stop after this many items in all. */
  limit?: number;
}

export interface QueryItem {
  topic: string;
  id: string;
  seq: number;
  published?: string;
  publisher?: string;
  payload: object | string;
}

export interface QueryPage {
  items: QueryItem[];
  /** RSM count: matches after filtering. */
  count?: number;
  /** The last seq of this page (the next page's `after`). */
  last?: number;
  /** Some items older than afterSeq are gone. */
  truncated: boolean;
}
