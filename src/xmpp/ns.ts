// Namespaces, in one place, by the names the specs give them.
export const NS = {
  STANZAS: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  DISCO_INFO: 'http://jabber.org/protocol/disco#info',
  DISCO_ITEMS: 'http://jabber.org/protocol/disco#items',
  PUBSUB: 'http://jabber.org/protocol/pubsub',
  PUBSUB_EVENT: 'http://jabber.org/protocol/pubsub#event',
  PUBSUB_OWNER: 'http://jabber.org/protocol/pubsub#owner',
  PUBSUB_ERRORS: 'http://jabber.org/protocol/pubsub#errors',
  DATA: 'jabber:x:data',
  REGISTER: 'jabber:iq:register',
  COMMANDS: 'http://jabber.org/protocol/commands',
  PING: 'urn:xmpp:ping',
  RSM: 'http://jabber.org/protocol/rsm',
  SHIM: 'http://jabber.org/protocol/shim',
  JSON: 'urn:xmpp:json:0',
  GRID: 'urn:xmpp-grid:0',
} as const;
