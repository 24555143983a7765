// Namespaces the agent speaks (docs/protocol.md), by the names the specs give them. The agent keeps
// its own copy: it ships as a separate package and imports nothing from the controller.
export const NS = {
  STANZAS: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  DISCO_INFO: 'http://jabber.org/protocol/disco#info',
  DISCO_ITEMS: 'http://jabber.org/protocol/disco#items',
  PUBSUB: 'http://jabber.org/protocol/pubsub',
  PUBSUB_EVENT: 'http://jabber.org/protocol/pubsub#event',
  PUBSUB_ERRORS: 'http://jabber.org/protocol/pubsub#errors',
  DATA: 'jabber:x:data',
  REGISTER: 'jabber:iq:register',
  RSM: 'http://jabber.org/protocol/rsm',
  SHIM: 'http://jabber.org/protocol/shim',
  JSON: 'urn:xmpp:json:0',
  GRID: 'urn:xmpp-grid:0',
  PING: 'urn:xmpp:ping',
} as const;

export const FORM = {
  REGISTER: 'urn:xmpp-grid:0#register',
  QUERY: 'urn:xmpp-grid:0#query',
  FILTER: 'urn:xmpp-grid:0#filter',
  TOPIC: 'urn:xmpp-grid:0#topic',
  LIMITS: 'urn:xmpp-grid:0#limits',
  META: 'http://jabber.org/protocol/pubsub#meta-data',
  SUBSCRIBE_OPTIONS: 'http://jabber.org/protocol/pubsub#subscribe_options',
} as const;

/** Clark notation for grid fields in forms the grid does not own (XEP-0068 §3.4). */
export const clark = (name: string): string => `{${NS.GRID}}${name}`;
