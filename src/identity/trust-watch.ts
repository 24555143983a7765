// The trust in force, with its CRL files watched: a CRL written while the controller runs is
// read after a quiet spell and takes effect at once (the revocation sweep follows its
// 'change'). A changed CRL file that cannot be read, parsed or verified, or that no longer
// holds a CRL for an issuer it held before, never drops revocations: that file's last good
// CRLs stay in force and the error is logged (restart the controller to drop a CRL on purpose).
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createTrust, parseCrls, readText, withCrls } from './trust.js';
import type { Trust, TrustedCrl, TrustFiles } from './types.js';

/** Any pino-like logger. */
export interface TrustLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface TrustWatcher {
  on(event: 'change', listener: (trust: Trust) => void): this;
  on(event: 'rejected', listener: (errors: { file: string; reason: string }[]) => void): this;
  once(event: 'change', listener: (trust: Trust) => void): this;
  once(event: 'rejected', listener: (errors: { file: string; reason: string }[]) => void): this;
}

export class TrustWatcher extends EventEmitter {
  private trust: Trust | undefined;
  /** CRL file → the text last looked at, good or not (a touched file is not re-read as news). */
  private readonly texts = new Map<string, string>();
  /** CRL file → its last good CRLs. */
  private readonly good = new Map<string, TrustedCrl[]>();
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly files: TrustFiles,
    private readonly log?: TrustLogger,
    private readonly debounceMs = 200,
  ) {
    super();
  }

  /** Reads every file and watches the CRL files. Throws TrustError when the first read fails. */
  start(): Trust {
    if (this.trust) return this.trust;
    const base = createTrust({ ca: this.files.ca.map((f) => ({ source: f, pem: readText(f, 'CA certificate file') })), crl: [], identity: this.files.identity });
    for (const f of this.files.crl) {
      const text = readText(f, 'CRL file');
      this.texts.set(f, text);
      this.good.set(f, parseCrls(f, text));
    }
    this.trust = withCrls(base, this.allCrls());
    for (const dir of new Set(this.files.crl.map((f) => dirname(f)))) {
      const names = new Set(this.files.crl.filter((f) => dirname(f) === dir).map((f) => basename(f)));
      // The folder, not the file: a CRL replaced by rename is a new file the old watch misses.
      const w = watch(dir, (_event, name) => {
        if (!name || names.has(String(name))) this.schedule();
      });
      w.on('error', (err) => this.log?.error({ dir, err: err.message }, 'CRL folder can no longer be watched; the CRLs in force stay'));
      this.watchers.push(w);
    }
    return this.trust;
  }

  current(): Trust {
    if (!this.trust) throw new Error('TrustWatcher.current() before start()');
    return this.trust;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reload();
    }, this.debounceMs);
  }

  private allCrls(except?: string, instead?: TrustedCrl[]): TrustedCrl[] {
    return this.files.crl.flatMap((f) => (f === except ? instead! : this.good.get(f) ?? []));
  }

  /** Re-reads the CRL files; returns whether the trust changed. */
  reload(): boolean {
    if (!this.trust) return false;
    const errors: { file: string; reason: string }[] = [];
    let changed = false;
    for (const f of this.files.crl) {
      let text: string;
      try {
        text = readText(f, 'CRL file');
      } catch (err) {
        if (this.texts.get(f) !== '') errors.push({ file: f, reason: (err as Error).message });
        this.texts.set(f, '');
        continue;
      }
      if (text === this.texts.get(f)) continue;
      this.texts.set(f, text);
      try {
        const crls = parseCrls(f, text);
        const kept = new Set(crls.map((c) => c.issuerKey));
        const dropped = (this.good.get(f) ?? []).filter((c) => !kept.has(c.issuerKey));
        if (dropped.length) throw new Error(`no longer holds the CRL of ${dropped.map((c) => c.issuerText).join('; ')}; revocations are never dropped by a reload (restart to remove a CRL)`);
        const next = withCrls(this.trust, this.allCrls(f, crls));
        this.good.set(f, crls);
        this.trust = next;
        changed = true;
      } catch (err) {
        errors.push({ file: f, reason: (err as Error).message });
      }
    }
    for (const e of errors) this.log?.error({ file: e.file, reason: e.reason }, 'CRL change rejected; the last good CRL of this file stays in force');
    if (errors.length) this.emit('rejected', errors);
    if (changed) {
      const t = this.trust;
      for (const w of t.warnings) this.log?.warn({ trust: w }, 'trust warning');
      this.log?.info({ crls: t.crls.length, revoked: t.crls.reduce((n, c) => n + c.revokedSerials.size, 0) }, 'CRLs reloaded');
      this.emit('change', t);
    }
    return changed;
  }
}
