// Every XEP-0004 FORM_TYPE the controller reads or writes, in one table (XEP-0068 names them;
// the grid's own are urn:xmpp-grid:0#…, docs/protocol.md).
export const FORM_TYPES = {
  /** XEP-0060 §8.2 node configuration (create-and-configure, configure). */
  nodeConfig: 'http://jabber.org/protocol/pubsub#node_config',
  /** XEP-0060 §7.1.5 publish-options preconditions. */
  publishOptions: 'http://jabber.org/protocol/pubsub#publish-options',
  /** XEP-0060 §6.3 subscription options (the grid's filter fields ride here). */
  subscribeOptions: 'http://jabber.org/protocol/pubsub#subscribe_options',
  /** XEP-0060 §5.4 node meta-data in disco#info. */
  metaData: 'http://jabber.org/protocol/pubsub#meta-data',
  /** PROTOCOL §2 registration form. */
  register: 'urn:xmpp-grid:0#register',
  /** PROTOCOL §5 a subtopic's filter. */
  filter: 'urn:xmpp-grid:0#filter',
  /** PROTOCOL §7 filtered query. */
  query: 'urn:xmpp-grid:0#query',
  /** PROTOCOL §3 a topic's grid settings in disco#info. */
  topic: 'urn:xmpp-grid:0#topic',
  /** The service limits in the controller's disco#info. */
  limits: 'urn:xmpp-grid:0#limits',
} as const;
