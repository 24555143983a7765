// Account administration while the controller is stopped: take the data folder's lock, apply
// the change through AccountService on the stored state (so it is checked and audited exactly
// as online), close. Never writes while another process holds the lock.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AccountService, EMPTY_ACCOUNTS } from '../accounts/service.js';
import type { AccountPolicy, AccountsState } from '../accounts/types.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { loadPolicyDir } from '../policy/load.js';
import { acquireLock, openStoreBackend, ControlStoreCorruptError, type ControlStore, type StoreBackend } from '../store/index.js';
import { accountOps, runOp } from './ops.js';
import { checkStateVersion } from '../state-format.js';
import type { AdminOpArgs, AdminOpName, AdminOpResults, AdminReply } from './types.js';

export const ACCOUNTS_FILE = 'accounts.json';

export async function runOffline<K extends AdminOpName>(cfg: Config, op: K, args: AdminOpArgs[K], log: Logger): Promise<AdminReply<AdminOpResults[K]>> {
  if (!op.startsWith('accounts.')) {
    return { ok: false, error: { code: 'unavailable', text: `${op} needs the running controller, and none answers on ${cfg.admin.socket}` } };
  }
  const policy = needsDeclaredGroups(op) ? declaredGroupsOf(cfg.policies) : { ok: true as const, groups: [] };
  if (!policy.ok) return { ok: false, error: { code: 'bad-request', text: policy.text } };
  if (!existsSync(cfg.data)) {
    // No data folder: no accounts. Answer from empty state rather than create folders for a read.
    return apply(memoryStore(), policy.groups, op, args, log);
  }
  const lock = acquireLock(cfg.data);
  if ('heldBy' in lock) {
    return {
      ok: false,
      error: {
        code: 'unavailable',
        text: `a controller (pid ${lock.heldBy}) holds ${join(cfg.data, 'controller.lock')} but does not answer on ${cfg.admin.socket} ` +
          `(not running as its user, or still starting); refusing to write under it: retry, or stop it first`,
      },
    };
  }
  try {
    let store: ControlStore<AccountsState>;
    let stores: StoreBackend;
    try {
      stores = await openStoreBackend(cfg, log);
    } catch (e) {
      return { ok: false, error: { code: 'unavailable', text: (e as Error).message } };
    }
    try {
      store = await stores.control<AccountsState>('accounts', EMPTY_ACCOUNTS);
    } catch (e) {
      await stores.close();
      if (e instanceof ControlStoreCorruptError) return { ok: false, error: { code: 'internal', text: e.message } };
      throw e;
    }
    try {
      try {
        checkStateVersion(stores.where('accounts'), store.data, EMPTY_ACCOUNTS.version);
      } catch (e) {
        return { ok: false, error: { code: 'internal', text: (e as Error).message } };
      }
      return await apply(store, policy.groups, op, args, log);
    } finally {
      await store.close();
      await stores.close();
    }
  } finally {
    lock.release();
  }
}

async function apply<K extends AdminOpName>(store: ControlStore<AccountsState>, groups: string[], op: K, args: AdminOpArgs[K], log: Logger): Promise<AdminReply<AdminOpResults[K]>> {
  const policy: AccountPolicy = { autoApprove: () => null, declaredGroups: () => groups, admins: () => [] };
  const service = new AccountService({
    store,
    policy,
    // Registration never happens here; these are never called.
    trust: () => {
      throw new Error('trust is not loaded by the admin command line');
    },
    verify: () => {
      throw new Error('registration is not handled by the admin command line');
    },
    log,
  });
  return (await runOp(accountOps(service, 'cli', { acceptOperator: true }), op, args)) as AdminReply<AdminOpResults[K]>;
}

function needsDeclaredGroups(op: AdminOpName): boolean {
  return op === 'accounts.approve' || op === 'accounts.set-groups';
}

function declaredGroupsOf(dir: string): { ok: true; groups: string[] } | { ok: false; text: string } {
  const r = loadPolicyDir(dir);
  if (r.ok) return { ok: true, groups: Object.keys(r.policy.groups) };
  const first = r.errors[0]!;
  const more = r.errors.length > 1 ? ` (and ${r.errors.length - 1} more; run grid-controller policy check)` : '';
  return { ok: false, text: `policy does not load, so its groups are unknown: ${first.file}${first.line ? `:${first.line}` : ''}: ${first.message}${more}` };
}

function memoryStore(): ControlStore<AccountsState> {
  let data = structuredClone(EMPTY_ACCOUNTS);
  return {
    get data() {
      return data;
    },
    source: 'defaults',
    async update(fn) {
      const next = structuredClone(data);
      fn(next);
      data = next;
    },
    async close() {},
  };
}
