// The admin socket's vocabulary (PROTOCOL §10, §11): one typed table of operations that the
// server (inside the controller), the client (the CLI) and the XEP-0050 commands share.
import type { Account, AccountStatus } from '../accounts/types.js';
import type { ErrorCode, Result } from '../result.js';
import type { Seen } from './seen.js';
import type { StatusReport } from './status.js';

/**
 * An account as listed: `effective` differs from `status` when an approved certificate
 * expired; `seen` is there while the controller runs (it is kept in memory, see seen.ts).
 */
export interface ListedAccount extends Account {
  effective: AccountStatus;
  seen?: Seen & { since: string };
}

/** Who runs a CLI command (`$SUDO_USER`/`$USER`): recorded as `cli:<operator>` in decidedBy. */
export interface OperatorArg {
  operator?: string;
}

export interface AdminOpArgs {
  'accounts.list': { status?: AccountStatus };
  'accounts.show': { jid: string };
  'accounts.approve': { jid: string; groups?: string[] } & OperatorArg;
  'accounts.deny': { jid: string } & OperatorArg;
  'accounts.revoke': { jid: string } & OperatorArg;
  'accounts.set-groups': { jid: string; groups: string[] } & OperatorArg;
  'accounts.remove': { jid: string } & OperatorArg;
  'accounts.unsuspend': { jid: string } & OperatorArg;
  /** PROTOCOL §13: a new HTTP Basic token for the TAXII door, or (`revoke`) none. */
  'accounts.token': { jid: string; revoke?: boolean } & OperatorArg;
  'topics.list': Record<string, never>;
  'policy.reload': Record<string, never>;
  stats: Record<string, never>;
  status: Record<string, never>;
}

export interface AdminOpResults {
  'accounts.list': ListedAccount[];
  'accounts.show': ListedAccount;
  'accounts.approve': Account;
  'accounts.deny': Account;
  'accounts.revoke': Account;
  'accounts.set-groups': Account;
  'accounts.remove': null;
  'accounts.unsuspend': Account;
  /** The new token (shown once; only its hash is stored), or null after --revoke. */
  'accounts.token': { jid: string; token: string | null };
  /** The hooks the lead wires later answer whatever JSON describes them best. */
  'topics.list': unknown;
  'policy.reload': unknown;
  stats: unknown;
  status: StatusReport;
}

export type AdminOpName = keyof AdminOpArgs;
export type AdminOpFn<K extends AdminOpName> = (args: AdminOpArgs[K]) => Promise<Result<AdminOpResults[K]>>;

type AccountOpName = Extract<AdminOpName, `accounts.${string}`>;
type HookOpName = Exclude<AdminOpName, AccountOpName>;

/** The account operations are always there; the others are hooks a controller may not offer. */
export type AdminOps = { [K in AccountOpName]: AdminOpFn<K> } & { [K in HookOpName]?: AdminOpFn<K> };

/**
 * Error codes on the wire: the core's codes, plus the socket's own — `unknown-op` (no such
 * operation), `unavailable` (this controller does not offer the hook, or the socket does not
 * answer), `timeout` (no answer in time).
 */
export type AdminErrorCode = ErrorCode | 'unknown-op' | 'unavailable' | 'timeout';

export interface AdminError {
  code: AdminErrorCode;
  text: string;
}

/** One request line: `{ id, op, args }` + LF. */
export interface AdminRequest {
  id: string | number;
  op: string;
  args?: unknown;
}

/** One answer line; `id` is null when the request line was too malformed to carry one. */
export type AdminResponse =
  | { id: string | number | null; ok: true; result: unknown }
  | { id: string | number | null; ok: false; error: AdminError };

/** What `adminRequest` resolves to: the answer without its id. */
export type AdminReply<T> = { ok: true; result: T } | { ok: false; error: AdminError };

/** Longest request line the server accepts, in bytes (LF excluded). */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Longest answer line the client accepts: a list of many accounts is far longer than a request. */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
