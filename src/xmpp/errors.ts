// One registry: domain error code → stanza error (type, defined condition, application condition).
// Handlers return a Fail; only this file knows what it looks like on the wire.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import type { ErrorCode, Fail } from '../result.js';
import { NS } from './ns.js';

type ErrorType = 'auth' | 'cancel' | 'modify' | 'wait';
interface Mapping {
  type: ErrorType;
  condition: string;
  app?: { name: string; ns: string };
}

const pubsub = (name: string) => ({ name, ns: NS.PUBSUB_ERRORS });
const grid = (name: string) => ({ name, ns: NS.GRID });

export const ERROR_MAP: Record<ErrorCode, Mapping> = {
  'registration-required': { type: 'auth', condition: 'registration-required' },
  'account-pending': { type: 'auth', condition: 'forbidden', app: grid('account-pending') },
  'account-revoked': { type: 'auth', condition: 'forbidden', app: grid('account-revoked') },
  'account-suspended': { type: 'auth', condition: 'forbidden', app: grid('account-suspended') },
  // RFC 6120 §8.3.3.12 (type wait: the policy is a rate) and §8.3.3.18.
  'rate-limited': { type: 'wait', condition: 'policy-violation' },
  'queue-full': { type: 'wait', condition: 'resource-constraint' },
  'challenge-invalid': { type: 'modify', condition: 'not-acceptable' },
  'bad-certificate': { type: 'modify', condition: 'bad-request' },
  untrusted: { type: 'auth', condition: 'not-authorized' },
  'identity-mismatch': { type: 'auth', condition: 'forbidden' },
  'bad-signature': { type: 'auth', condition: 'not-authorized' },
  'item-not-found': { type: 'cancel', condition: 'item-not-found' },
  'closed-node': { type: 'cancel', condition: 'not-allowed', app: pubsub('closed-node') },
  forbidden: { type: 'auth', condition: 'forbidden' },
  'invalid-payload': { type: 'modify', condition: 'bad-request', app: pubsub('invalid-payload') },
  'payload-too-big': { type: 'modify', condition: 'not-acceptable', app: pubsub('payload-too-big') },
  'invalid-options': { type: 'modify', condition: 'bad-request', app: pubsub('invalid-options') },
  'bad-request': { type: 'modify', condition: 'bad-request' },
  conflict: { type: 'cancel', condition: 'conflict' },
  'not-subscribed': { type: 'cancel', condition: 'unexpected-request', app: pubsub('not-subscribed') },
  'subid-required': { type: 'modify', condition: 'bad-request', app: pubsub('subid-required') },
  'invalid-subid': { type: 'modify', condition: 'not-acceptable', app: pubsub('invalid-subid') },
  'invalid-jid': { type: 'modify', condition: 'bad-request', app: pubsub('invalid-jid') },
  'nodeid-required': { type: 'modify', condition: 'bad-request', app: pubsub('nodeid-required') },
  'item-required': { type: 'modify', condition: 'bad-request', app: pubsub('item-required') },
  'item-forbidden': { type: 'modify', condition: 'bad-request', app: pubsub('item-forbidden') },
  'payload-required': { type: 'modify', condition: 'bad-request', app: pubsub('payload-required') },
  // XEP-0060 §7.1.5: publish-options that the node's configuration does not meet.
  'precondition-not-met': { type: 'cancel', condition: 'conflict', app: pubsub('precondition-not-met') },
  'not-acceptable': { type: 'modify', condition: 'not-acceptable' },
  'not-allowed': { type: 'cancel', condition: 'not-allowed' },
  'feature-not-implemented': { type: 'cancel', condition: 'feature-not-implemented' },
  'service-unavailable': { type: 'cancel', condition: 'service-unavailable' },
  internal: { type: 'wait', condition: 'internal-server-error' },
};

/** The <error/> element for a Fail (RFC 6120 §8.3; XEP-0060's application conditions). */
export function errorElement(f: Fail): Element {
  const m = ERROR_MAP[f.fail];
  const children: Element[] = [xml(m.condition, { xmlns: NS.STANZAS })];
  if (f.text) children.push(xml('text', { xmlns: NS.STANZAS }, f.text));
  if (m.app) children.push(xml(m.app.name, { xmlns: m.app.ns }));
  else if (f.fail === 'feature-not-implemented' && f.feature) {
    children.push(xml('unsupported', { xmlns: NS.PUBSUB_ERRORS, feature: f.feature }));
  }
  return xml('error', { type: m.type }, ...children);
}
