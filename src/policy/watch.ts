// Live reload (PROTOCOL §12): watch the policy folder, reload it whole after a quiet spell,
// swap the policy atomically, or reject the change whole and keep the last good policy. A
// change applies only when the folder stayed the same while it was read (still quiet) and
// every file ends with its end line (schema.ts), so a half-written file is never applied.
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { watch, readdirSync, readFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { loadPolicyDir } from './load.js';
import type { LoadResult, Policy, PolicyError } from './types.js';

/** Any pino-like logger. */
export interface PolicyLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export class PolicyLoadError extends Error {
  constructor(readonly errors: PolicyError[]) {
    super(`policy is invalid:\n${errors.map(formatPolicyError).join('\n')}`);
    this.name = 'PolicyLoadError';
  }
}

/** `file:line: reason`, the form editors and `policy check` use. */
export function formatPolicyError(e: PolicyError): string {
  return `${e.file}${e.line !== undefined ? `:${e.line}` : ''}: ${e.message}`;
}

export interface PolicyWatcher {
  /** `previous`: the policy it replaces (to tell what the reload widened). */
  on(event: 'change', listener: (policy: Policy, previous: Policy) => void): this;
  on(event: 'rejected', listener: (errors: PolicyError[]) => void): this;
  once(event: 'change', listener: (policy: Policy, previous: Policy) => void): this;
  once(event: 'rejected', listener: (errors: PolicyError[]) => void): this;
}

export class PolicyWatcher extends EventEmitter {
  private policy: Policy | undefined;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Fingerprint of the folder as last looked at (good or rejected): editors touch files without changing them. */
  private seen = '';

  constructor(
    readonly dir: string,
    private readonly log?: PolicyLogger,
    private readonly debounceMs = 150,
  ) {
    super();
  }

  /** Loads the folder and starts watching it. Throws PolicyLoadError if the first load is invalid. */
  start(): Policy {
    if (this.policy) return this.policy;
    this.seen = fingerprint(this.dir);
    const r = loadPolicyDir(this.dir);
    if (!r.ok) throw new PolicyLoadError(r.errors);
    this.policy = r.policy;
    this.log?.info({ dir: this.dir, files: r.policy.files, rules: r.policy.rules.length }, 'policy loaded');
    this.watcher = watch(this.dir, (_event, name) => {
      // Only policy files (and .yml, which load reports as a mistake) can change the outcome.
      if (name && !/\.ya?ml$/.test(String(name))) return;
      this.schedule();
    });
    this.watcher.on('error', (err) => {
      this.log?.error({ dir: this.dir, err: err.message }, 'policy folder can no longer be watched; the last good policy stays');
      this.emit('rejected', [{ file: this.dir, message: `watch failed: ${err.message}` }]);
    });
    return this.policy;
  }

  current(): Policy {
    if (!this.policy) throw new Error('PolicyWatcher.current() before start()');
    return this.policy;
  }

  /** Reloads at once, whether or not the files changed (the admin #reload-policy command). */
  async reloadNow(): Promise<LoadResult> {
    return this.reload(true);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    // Editors write in bursts (truncate, write, rename): wait for a quiet spell.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reload(false);
    }, this.debounceMs);
  }

  private reload(force: boolean): LoadResult {
    const fp = fingerprint(this.dir);
    if (!force && fp === this.seen && this.policy) return { ok: true, policy: this.policy };
    const r = loadPolicyDir(this.dir);
    // Written to while it was read: not quiet yet. The write's own event schedules the next look.
    if (!force && fingerprint(this.dir) !== fp) {
      this.schedule();
      return this.policy ? { ok: true, policy: this.policy } : r;
    }
    this.seen = fp;
    if (r.ok) {
      const previous = this.policy!;
      this.policy = r.policy;
      this.log?.info({ dir: this.dir, files: r.policy.files, rules: r.policy.rules.length }, 'policy reloaded');
      this.emit('change', r.policy, previous);
    } else {
      for (const e of r.errors) this.log?.error({ file: e.file, line: e.line, reason: e.message }, 'policy error');
      this.log?.warn({ dir: this.dir, errors: r.errors.length }, 'policy change rejected; the last good policy stays in force');
      this.emit('rejected', r.errors);
    }
    return r;
  }
}

/** Hash of every policy file's name and content; '' when the folder cannot be read. */
function fingerprint(dir: string): string {
  const h = createHash('sha256');
  try {
    for (const name of readdirSync(dir).sort()) {
      if (!/\.ya?ml$/.test(name)) continue;
      h.update(name).update('\0');
      try {
        h.update(readFileSync(join(dir, name))).update('\0');
      } catch {
        h.update('<unreadable>\0');
      }
    }
  } catch {
    return '';
  }
  return h.digest('hex');
}
