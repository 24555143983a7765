// The admin operations table: argument checks and dispatch shared by the socket server, and
// the account operations implemented on AccountService (which audits every change).
import { norm, type AccountService } from '../accounts/service.js';
import { ACCOUNT_STATUSES, type Account, type AccountStatus } from '../accounts/types.js';
import { fail, ok, type Result } from '../result.js';
import type { SeenBook } from './seen.js';
import type { AdminOpArgs, AdminOpName, AdminOps, AdminReply, ListedAccount, OperatorArg } from './types.js';

export const ADMIN_OP_NAMES: readonly AdminOpName[] = [
  'accounts.list', 'accounts.show', 'accounts.approve', 'accounts.deny', 'accounts.revoke', 'accounts.set-groups', 'accounts.remove', 'accounts.unsuspend', 'accounts.token',
  'topics.list', 'policy.reload', 'stats', 'status',
];

export function isAdminOpName(op: unknown): op is AdminOpName {
  return typeof op === 'string' && (ADMIN_OP_NAMES as readonly string[]).includes(op);
}

export interface AccountOpsOptions {
  /** Where online state comes from (the running controller); absent offline. */
  seen?: SeenBook;
  /** Take `operator` from the request (the CLI's `$SUDO_USER`/`$USER`): decided by `<by>:<operator>`. */
  acceptOperator?: boolean;
}

/** The account operations, acting as `by` (`cli`, or `admin:<jid>` for XEP-0050). */
export function accountOps(service: AccountService, by: string, o: AccountOpsOptions = {}): Pick<AdminOps, Extract<AdminOpName, `accounts.${string}`>> {
  const who = (a: OperatorArg) => (o.acceptOperator && a.operator ? `${by}:${a.operator}` : by);
  // The token's hash stays in the store: listings never carry it.
  const listed = ({ token: _token, ...a }: Account): ListedAccount => ({
    ...a, effective: service.effectiveStatus(a), ...(o.seen ? { seen: { ...o.seen.get(a.jid), since: o.seen.since } } : {}),
  });
  return {
    'accounts.list': async ({ status }) => ok(service.list(status).map(listed)),
    'accounts.show': async ({ jid }) => {
      const a = service.get(jid);
      return a ? ok(listed(a)) : fail('item-not-found', `no account ${norm(jid)}`);
    },
    'accounts.approve': (a) => service.approve(a.jid, who(a), a.groups),
    'accounts.deny': (a) => service.deny(a.jid, who(a)),
    'accounts.revoke': (a) => service.revoke(a.jid, who(a)),
    'accounts.set-groups': (a) => service.setGroups(a.jid, who(a), a.groups),
    'accounts.remove': (a) => service.remove(a.jid, who(a)),
    'accounts.unsuspend': (a) => service.unsuspend(a.jid, who(a)),
    'accounts.token': async (a) => {
      const r = a.revoke ? await service.revokeToken(a.jid, who(a)) : await service.issueToken(a.jid, who(a));
      return 'fail' in r ? r : ok({ jid: norm(a.jid), token: typeof r.value === 'string' ? r.value : null });
    },
  };
}

/** Checks untrusted JSON arguments against the op's shape; unknown keys are refused, not ignored. */
export function parseArgs<K extends AdminOpName>(op: K, raw: unknown): Result<AdminOpArgs[K]> {
  const args = raw ?? {};
  if (typeof args !== 'object' || Array.isArray(args)) return fail('bad-request', `${op}: args must be a JSON object`);
  const a = args as Record<string, unknown>;
  const allowed = ALLOWED[op];
  const extra = Object.keys(a).filter((k) => !allowed.includes(k));
  if (extra.length) return fail('bad-request', `${op}: unknown argument ${extra.join(', ')} (known: ${allowed.join(', ') || 'none'})`);
  for (const k of allowed) {
    const problem = a[k] === undefined ? (REQUIRED[op].includes(k) ? 'is required' : null) : CHECK[k]!(a[k]);
    if (problem) return fail('bad-request', `${op}: ${k} ${problem}`);
  }
  return ok(a as AdminOpArgs[K]);
}

/** Runs one operation; every expected failure becomes an error answer, never a throw. */
export async function runOp(ops: AdminOps, op: unknown, rawArgs: unknown): Promise<AdminReply<unknown>> {
  if (!isAdminOpName(op)) return { ok: false, error: { code: 'unknown-op', text: `unknown op ${JSON.stringify(op)} (known: ${ADMIN_OP_NAMES.join(', ')})` } };
  const fn = ops[op] as ((args: unknown) => Promise<Result<unknown>>) | undefined;
  if (!fn) return { ok: false, error: { code: 'unavailable', text: `${op} is not offered by this controller` } };
  const args = parseArgs(op, rawArgs);
  if ('fail' in args) return { ok: false, error: { code: args.fail, text: args.text ?? args.fail } };
  const r = await fn(args.value);
  if ('fail' in r) return { ok: false, error: { code: r.fail, text: r.text ?? r.fail } };
  return { ok: true, result: r.value };
}

/** "a, b,,c" → ["a","b","c"]: how groups are written on the command line. */
export function splitGroups(s: string): string[] {
  return s.split(',').map((g) => g.trim()).filter(Boolean);
}

const ALLOWED: Record<AdminOpName, string[]> = {
  'accounts.list': ['status'],
  'accounts.show': ['jid'],
  'accounts.approve': ['jid', 'groups', 'operator'],
  'accounts.deny': ['jid', 'operator'],
  'accounts.revoke': ['jid', 'operator'],
  'accounts.set-groups': ['jid', 'groups', 'operator'],
  'accounts.remove': ['jid', 'operator'],
  'accounts.unsuspend': ['jid', 'operator'],
  'accounts.token': ['jid', 'revoke', 'operator'],
  'topics.list': [],
  'policy.reload': [],
  stats: [],
  status: [],
};

const REQUIRED: Record<AdminOpName, string[]> = {
  ...Object.fromEntries(Object.keys(ALLOWED).map((k) => [k, []])),
  'accounts.show': ['jid'],
  'accounts.approve': ['jid'],
  'accounts.deny': ['jid'],
  'accounts.revoke': ['jid'],
  'accounts.set-groups': ['jid', 'groups'],
  'accounts.remove': ['jid'],
  'accounts.unsuspend': ['jid'],
  'accounts.token': ['jid'],
} as Record<AdminOpName, string[]>;

// A JID's parts are at most 1023 bytes each (RFC 7622 §3.1); whitespace and controls never occur.
const JID_RE = /^[^\s\u0000-\u001f\u007f@/]+@[^\s\u0000-\u001f\u007f@/]+(\/[^\u0000-\u001f\u007f]+)?$/;

const CHECK: Record<string, (v: unknown) => string | null> = {
  jid: (v) => (typeof v === 'string' && v.length <= 3071 && JID_RE.test(v) ? null : 'must be a JID like node1@grid.test'),
  groups: (v) => (Array.isArray(v) && v.every((g) => typeof g === 'string' && g.trim() !== '' && g.length <= 256) ? null : 'must be a list of group names'),
  // A login name: it ends up in decidedBy and the audit log, so nothing else gets in.
  operator: (v) => (typeof v === 'string' && /^[A-Za-z0-9._][A-Za-z0-9._@-]{0,63}$/.test(v) ? null : 'must be a login name (letters, digits, . _ - @; at most 64)'),
  revoke: (v) => (typeof v === 'boolean' ? null : 'must be true or false'),
  status: (v) => (ACCOUNT_STATUSES.includes(v as AccountStatus) ? null : `must be one of ${ACCOUNT_STATUSES.join(', ')}`),
};
