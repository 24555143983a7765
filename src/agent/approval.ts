// Waiting for approval (PROTOCOL §2): the controller tells the node with an `<account/>`
// message; a node that was offline when it happened reads it with the registration get. So
// listen first, then poll once — whichever comes first wins.
import type { AccountState, GridEvent } from './grid-types.js';
import { GridError } from './errors.js';

interface Source {
  status(): Promise<AccountState>;
  onEvent(fn: (e: GridEvent) => void): () => void;
}

const REFUSED = new Set(['denied', 'revoked', 'removed']);

export function waitForApproval(src: Source, timeoutMs: number): Promise<AccountState> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => { if (!settled) { settled = true; clearTimeout(timer); off(); fn(); } };
    const judge = (state: AccountState) => {
      if (state.status === 'approved') finish(() => resolve(state));
      else if (state.status && REFUSED.has(state.status)) {
        finish(() => reject(new GridError('stanza', 'forbidden', `the account was ${state.status} by the controller or an administrator`)));
      } else if (!state.registered && state.status === undefined) {
        finish(() => reject(new GridError('stanza', 'registration-required', 'this node has no account: register first')));
      }
    };
    const timer = setTimeout(() => finish(() => reject(new GridError('timeout', 'timeout',
      `the account was not approved within ${timeoutMs} ms; an administrator approves it with \`grid-controller accounts approve JID\``))), timeoutMs);
    const off = src.onEvent((e) => { if (e.kind === 'account') judge({ registered: true, status: e.status, groups: e.groups }); });
    src.status().then(judge, (err) => finish(() => reject(err)));
  });
}
