// The grid node library's public surface: what `import … from 'xmpp-grid-agent'` will offer.
export { GridClient } from './client.js';
export { GridError, toGridError, type GridErrorKind, type GridOperation } from './errors.js';
export { connectNode, NodeConnectError, StanzaError } from './connection.js';
export { signChallenge } from './register.js';
export { parseFilterSpecs, filterFields, normaliseFilter } from './filters.js';
export { parseXml, payloadElement, readPayload, splitObjects } from './payloads.js';
export { parseEvents } from './events.js';
export type * from './grid-types.js';
export type { ConnectNodeOptions, NodeConnection } from './types.js';
export type { ListedSubscription } from './pubsub.js';
export { Follower, type FollowOptions, type FollowEvent, type FollowedItem, type FollowClient } from './catchup.js';
export { StateFile, placeKey, type SubscriptionPlace } from './state-file.js';
