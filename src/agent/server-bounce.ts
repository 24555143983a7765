// What an XMPP server answers, in the controller's name, to a stanza sent to the controller
// while its component link is down. Neither is the controller's own answer: a node must not
// read ejabberd's `forbidden` as a policy refusal. Measured on Prosody 0.12.3 (mod_component)
// and ejabberd 23.01 (ejabberd_service); the dev grid's server profiles point here.
import type { StanzaError } from './stanza-error.js';

export interface ServerBounce {
  type: string;
  condition: string;
  text: string;
  /** Application-specific condition the server adds, if any: `xmlns` + name. */
  appCondition?: { name: string; xmlns: string };
}

export const CONTROLLER_DOWN_BOUNCES = {
  prosody: { type: 'wait', condition: 'remote-server-timeout', text: 'Component unavailable',
    appCondition: { name: 'not-connected', xmlns: 'xmpp:prosody.im/protocol/component' } },
  ejabberd: { type: 'auth', condition: 'forbidden', text: 'Access denied by service policy' },
} satisfies Record<string, ServerBounce>;

/** True when `err` is a server's "the controller is not connected" bounce, not the controller's answer. */
export function isControllerDownBounce(err: StanzaError): boolean {
  return Object.values(CONTROLLER_DOWN_BOUNCES).some((b: ServerBounce) =>
    b.type === err.type && b.condition === err.condition && b.text === err.text?.trim() &&
    (b.appCondition ? err.appCondition?.name === b.appCondition.name && err.appCondition.xmlns === b.appCondition.xmlns : !err.appCondition));
}
