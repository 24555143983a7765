// Shared fixtures for the admin socket, CLI and XEP-0050 command tests: accounts, an
// in-memory ControlStore and an AccountService built on them.
import { AccountService } from '../../src/accounts/service.js';
import type { Account, AccountChange, AccountPolicy, AccountsState, AccountStatus } from '../../src/accounts/types.js';
import { silentLogger } from '../../src/log.js';
import type { ControlStore } from '../../src/store/types.js';
import { memoryStore as memoryOf } from '../helpers/fakes.js';

export function account(jid: string, status: AccountStatus, extra: Partial<Account> = {}): Account {
  return {
    jid,
    status,
    groups: status === 'approved' ? ['soc'] : [],
    requestedGroups: ['soc', 'undeclared'],
    deviceType: 'siem',
    cert: {
      fingerprint: 'AA:BB', serial: '1F', subject: { CN: jid, OU: 'soc' }, issuer: { O: 'Grid Dev CA' },
      notBefore: '2025-01-01T00:00:00.000Z', notAfter: '2099-01-01T00:00:00.000Z', keyType: 'rsa',
    },
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    decidedBy: 'registration',
    decidedAt: '2025-01-01T00:00:00.000Z',
    ...extra,
  };
}

/** The policy's admin@grid.test with the account an administrator needs: approved, registered with an xmppAddr certificate. */
export function adminAccount(extra: Partial<Account> = {}): Account {
  const a = account('admin@grid.test', 'approved', { groups: [], requestedGroups: [], deviceType: 'console' });
  return { ...a, cert: { ...a.cert, xmppAddr: true }, ...extra };
}

export function seededState(...accounts: Account[]): AccountsState {
  return { version: 1, accounts: Object.fromEntries(accounts.map((a) => [a.jid, a])) };
}

/** The tests' one in-memory control store, opened as from a file. */
export function memoryStore(data: AccountsState): ControlStore<AccountsState> & { writes: number } {
  return memoryOf(data, { source: 'file' });
}

export const POLICY: AccountPolicy = {
  autoApprove: () => null,
  declaredGroups: () => ['partners', 'soc'],
  admins: () => ['admin@grid.test'],
};

export function makeService(state = seededState(account('node1@grid.test', 'pending'), account('node2@grid.test', 'approved'))) {
  const store = memoryStore(state);
  const service = new AccountService({
    store,
    policy: POLICY,
    trust: () => {
      throw new Error('unused');
    },
    verify: () => {
      throw new Error('unused');
    },
    log: silentLogger(),
  });
  const changes: AccountChange[] = [];
  service.on('change', (c: AccountChange) => changes.push(c));
  return { service, store, changes };
}
