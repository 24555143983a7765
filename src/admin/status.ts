// `grid-controller status` (the counterpart of `prosodyctl status`): one report, assembled
// here and nowhere else. The core sections are typed; other parts of the controller add their
// own with `section(name, fn)` (store damage counts, cluster instances, …) and they appear in
// the JSON and, generically, in the CLI's text output.
import { createHash } from 'node:crypto';
import type { AccountStatus } from '../accounts/types.js';
import type { Policy, PolicyError } from '../policy/types.js';

export interface StatusCore {
  version: string;
  pid: number;
  started_at: string;
  uptime_s: number;
  xmpp: { link: 'up' | 'down'; service: string; domain: string; reconnecting: boolean };
  multicast: { mode: 'auto' | 'off'; in_use: boolean; hosts: string[]; messages: number; copies: number; fallbacks: number };
  /** The TAXII door's URL; null while no TAXII server runs. */
  taxii: { url: string | null };
  metrics: { url: string | null };
  accounts: {
    by_state: Record<AccountStatus, number>;
    online: number;
    pending: { jid: string; requested_groups: string[]; device_type: string | null; since: string }[];
  };
  topics: { topics: number; subtopics: number; subscriptions: number };
  items: { stored: number };
  policy: {
    digest: string;
    files: string[];
    rules: number;
    loaded_at: string;
    /** The last reload attempt since start (null: none yet, the start-up load is in force). */
    last_reload: { at: string; ok: boolean; errors?: string[] } | null;
  };
}

/** The report: the core, plus whatever sections were added (each a JSON object). */
export type StatusReport = StatusCore & Record<string, unknown>;

export interface StatusSources {
  version: string;
  startedAt: Date;
  link: () => { online: boolean; reconnecting: boolean; service: string; domain: string };
  multicast: () => StatusCore['multicast'];
  taxiiUrl: () => string | null;
  metricsUrl: () => string | null;
  accounts: () => { jid: string; status: AccountStatus; effective: AccountStatus; requestedGroups: string[]; deviceType?: string; createdAt: string; updatedAt: string }[];
  online: () => number;
  topics: () => StatusCore['topics'];
  itemsStored: () => number;
  policy: () => Policy;
  now?: () => Date;
}

export class StatusBuilder {
  private readonly sections = new Map<string, () => Record<string, unknown>>();
  private lastReload: StatusCore['policy']['last_reload'] = null;

  constructor(private readonly s: StatusSources) {}

  /** Adds a section to every report; its name must not be a core key. */
  section(name: string, fn: () => Record<string, unknown>): void {
    if (CORE_KEYS.includes(name) || this.sections.has(name)) throw new Error(`status section ${name} exists already`);
    this.sections.set(name, fn);
  }

  /** Call on every policy reload attempt (the watcher's change and rejected events). */
  reloaded(result: { ok: true } | { ok: false; errors: PolicyError[] }): void {
    const at = (this.s.now?.() ?? new Date()).toISOString();
    this.lastReload = result.ok ? { at, ok: true } : { at, ok: false, errors: result.errors.map((e) => `${e.file}${e.line ? `:${e.line}` : ''}: ${e.message}`) };
  }

  report(): StatusReport {
    const now = this.s.now?.() ?? new Date();
    const link = this.s.link();
    const accounts = this.s.accounts();
    const byState: Record<AccountStatus, number> = { pending: 0, approved: 0, denied: 0, revoked: 0, suspended: 0 };
    for (const a of accounts) byState[a.effective]++;
    const p = this.s.policy();
    const core: StatusCore = {
      version: this.s.version,
      pid: process.pid,
      started_at: this.s.startedAt.toISOString(),
      uptime_s: Math.round((now.getTime() - this.s.startedAt.getTime()) / 1000),
      xmpp: { link: link.online ? 'up' : 'down', service: link.service, domain: link.domain, reconnecting: link.reconnecting },
      multicast: this.s.multicast(),
      taxii: { url: this.s.taxiiUrl() },
      metrics: { url: this.s.metricsUrl() },
      accounts: {
        by_state: byState,
        online: this.s.online(),
        pending: accounts.filter((a) => a.effective === 'pending').map((a) => ({
          jid: a.jid, requested_groups: a.requestedGroups, device_type: a.deviceType ?? null, since: a.updatedAt,
        })),
      },
      topics: this.s.topics(),
      items: { stored: this.s.itemsStored() },
      policy: { digest: policyDigest(p), files: p.files, rules: p.rules.length, loaded_at: p.loadedAt, last_reload: this.lastReload },
    };
    const extra: Record<string, unknown> = {};
    for (const [name, fn] of this.sections) {
      try {
        extra[name] = fn();
      } catch (err) {
        extra[name] = { error: (err as Error).message };
      }
    }
    return { ...extra, ...core };
  }
}

/** The core's keys: a section may not take one. */
export const CORE_KEYS: readonly string[] = ['version', 'pid', 'started_at', 'uptime_s', 'xmpp', 'multicast', 'taxii', 'metrics', 'accounts', 'topics', 'items', 'policy'];

const digests = new WeakMap<Policy, string>();

/**
 * sha256 of the policy in force as loaded (its JSON without the load time, file names and
 * lines included): two controllers with equal digests run the same policy.
 */
export function policyDigest(p: Policy): string {
  let d = digests.get(p);
  if (!d) {
    const { loadedAt: _loadedAt, ...rest } = p;
    d = `sha256:${createHash('sha256').update(JSON.stringify(rest)).digest('hex')}`;
    digests.set(p, d);
  }
  return d;
}
