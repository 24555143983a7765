// What administrators are told when an account is suspended for abusing the rate limits
// (README "Rate limits"); the node itself gets the §2 <account status='suspended'> message.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import type { Account } from '../accounts/types.js';

let seq = 0;

export function suspendedMessage(from: string, admin: string, a: Account, reason: string): Element {
  return xml('message', { id: `susp-${Date.now().toString(36)}-${++seq}`, from, to: admin, type: 'normal' },
    xml('body', {}, `Account ${a.jid} was suspended: ${reason}. Its requests are refused (forbidden + account-suspended) ` +
      `and its subscriptions ended. Lift it with: grid-controller accounts unsuspend ${a.jid}`));
}
