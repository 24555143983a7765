// The account registry's vocabulary (PROTOCOL §1, §2, §10).
import type { CertInfo } from '../identity/types.js';
import type { StoredToken } from './tokens.js';

/** `suspended`: disabled for sustained abuse of the rate limits (README "Rate limits"); an administrator lifts it. */
export type AccountStatus = 'pending' | 'approved' | 'denied' | 'revoked' | 'suspended';
export const ACCOUNT_STATUSES: readonly AccountStatus[] = ['pending', 'approved', 'denied', 'revoked', 'suspended'];

export interface Account {
  /** Bare JID, lower-cased. */
  jid: string;
  status: AccountStatus;
  /** Groups assigned (none while pending). */
  groups: string[];
  /** Groups the node asked for at registration. */
  requestedGroups: string[];
  deviceType?: string;
  description?: string;
  /**
   * `xmppAddr`: the registration proved this JID by the certificate's id-on-xmppAddr SAN (not
   * by a CN fallback). Only such accounts can be administrators (AccountService.isAdmin).
   */
  cert: Pick<CertInfo, 'fingerprint' | 'serial' | 'subject' | 'issuer' | 'notBefore' | 'notAfter' | 'keyType' | 'issuerKey' | 'issuerSpki'> & { xmppAddr?: boolean };
  createdAt: string;
  updatedAt: string;
  /** Who made the last decision: `auto:<entry id>`, `admin:<jid>`, `cli`, `registration`, or `system:crl` / `system:expiry` (revocation-sweep.ts). */
  decidedBy: string;
  decidedAt: string;
  /** HTTP Basic token for the TAXII door (PROTOCOL §13), stored hashed; absent: none. */
  token?: StoredToken;
}

export interface AccountsState {
  version: 1;
  accounts: Record<string, Account>;
}

export interface Submission {
  challenge: string;
  certificatePem: string;
  signature: string;
  groups: string[];
  deviceType?: string;
  description?: string;
}

/** What the accounts service needs from the policy (kept narrow so either side can change). */
export interface AccountPolicy {
  autoApprove(req: { issuer: Record<string, string>; subject: Record<string, string>; deviceType?: string; requestedGroups: string[] }): { id: string; groups: string[] } | null;
  declaredGroups(): string[];
  admins(): string[];
}

/** Emitted on every change of state or groups; `status: 'removed'` when the account goes. */
export interface AccountChange {
  jid: string;
  status: AccountStatus | 'removed';
  groups: string[];
  previous?: { status: AccountStatus; groups: string[] };
  by: string;
  reason: string;
}
