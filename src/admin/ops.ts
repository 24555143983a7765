// The admin operations table: argument checks and dispatch shared by the socket server, and
// the account operations implemented on AccountService (which audits every change).
import type { AccountService } from '../accounts/service.js';
import { ACCOUNT_STATUSES, type AccountStatus } from '../accounts/types.js';
import { fail, ok, type Result } from '../result.js';
import type { AdminOpArgs, AdminOpName, AdminOps, AdminReply } from './types.js';

export const ADMIN_OP_NAMES: readonly AdminOpName[] = [
  'accounts.list', 'accounts.approve', 'accounts.deny', 'accounts.revoke', 'accounts.set-groups', 'accounts.remove', 'accounts.unsuspend',
  'topics.list', 'policy.reload', 'stats',
];

export function isAdminOpName(op: unknown): op is AdminOpName {
  return typeof op === 'string' && (ADMIN_OP_NAMES as readonly string[]).includes(op);
}

/** The account operations, acting as `by` (`cli`, or `admin:<jid>` for XEP-0050). */
export function accountOps(service: AccountService, by: string): Pick<AdminOps, Extract<AdminOpName, `accounts.${string}`>> {
  return {
    'accounts.list': async ({ status }) => ok(service.list(status).map((a) => ({ ...a, effective: service.effectiveStatus(a) }))),
    'accounts.approve': ({ jid, groups }) => service.approve(jid, by, groups),
    'accounts.deny': ({ jid }) => service.deny(jid, by),
    'accounts.revoke': ({ jid }) => service.revoke(jid, by),
    'accounts.set-groups': ({ jid, groups }) => service.setGroups(jid, by, groups),
    'accounts.remove': ({ jid }) => service.remove(jid, by),
    'accounts.unsuspend': ({ jid }) => service.unsuspend(jid, by),
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
  'accounts.approve': ['jid', 'groups'],
  'accounts.deny': ['jid'],
  'accounts.revoke': ['jid'],
  'accounts.set-groups': ['jid', 'groups'],
  'accounts.remove': ['jid'],
  'accounts.unsuspend': ['jid'],
  'topics.list': [],
  'policy.reload': [],
  stats: [],
};

const REQUIRED: Record<AdminOpName, string[]> = {
  ...Object.fromEntries(Object.keys(ALLOWED).map((k) => [k, []])),
  'accounts.approve': ['jid'],
  'accounts.deny': ['jid'],
  'accounts.revoke': ['jid'],
  'accounts.set-groups': ['jid', 'groups'],
  'accounts.remove': ['jid'],
  'accounts.unsuspend': ['jid'],
} as Record<AdminOpName, string[]>;

// A JID's parts are at most 1023 bytes each (RFC 7622 §3.1); whitespace and controls never occur.
const JID_RE = /^[^\s\u0000-\u001f\u007f@/]+@[^\s\u0000-\u001f\u007f@/]+(\/[^\u0000-\u001f\u007f]+)?$/;

const CHECK: Record<string, (v: unknown) => string | null> = {
  jid: (v) => (typeof v === 'string' && v.length <= 3071 && JID_RE.test(v) ? null : 'must be a JID like node1@grid.test'),
  groups: (v) => (Array.isArray(v) && v.every((g) => typeof g === 'string' && g.trim() !== '' && g.length <= 256) ? null : 'must be a list of group names'),
  status: (v) => (ACCOUNT_STATUSES.includes(v as AccountStatus) ? null : `must be one of ${ACCOUNT_STATUSES.join(', ')}`),
};
