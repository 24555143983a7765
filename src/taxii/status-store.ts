// TAXII status resources (PROTOCOL §13): kept at least 24 h and across a restart. One small
// file per status under <data>/taxii-status/, written durably (temp, fsync, rename, fsync
// dir) before the 202 answers; files older than the retention are removed hourly.
import { mkdirSync, readFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFileDurably } from '../store/fsutil.js';
import type { Logger } from '../log.js';

export interface StatusResource {
  id: string;
  status: 'pending' | 'complete';
  request_timestamp: string;
  total_count: number;
  success_count: number;
  successes: { id: string; version?: string; message?: string }[];
  failure_count: number;
  failures: { id: string; version?: string; message: string }[];
  pending_count: number;
  pendings: { id: string; version?: string }[];
}

interface StatusRecord {
  owner: string;
  createdAt: string;
  status: StatusResource;
}

export const STATUS_RETENTION_MS = 25 * 3600_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export class StatusStore {
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly dir: string, private readonly log: Logger, private readonly now: () => number = Date.now) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.prune();
    this.timer = setInterval(() => this.prune(), 3600_000);
    this.timer.unref();
  }

  async put(owner: string, status: StatusResource): Promise<void> {
    const rec: StatusRecord = { owner, createdAt: new Date(this.now()).toISOString(), status };
    const file = join(this.dir, `${status.id}.json`);
    await replaceFileDurably(file, JSON.stringify(rec), `${file}.tmp`);
  }

  /** The status if `owner` created it (others get undefined: §13 "only its creator; others 404"). */
  get(owner: string, id: string): StatusResource | undefined {
    if (!UUID.test(id)) return undefined;
    let rec: StatusRecord;
    try {
      rec = JSON.parse(readFileSync(join(this.dir, `${id}.json`), 'utf8')) as StatusRecord;
    } catch {
      return undefined;
    }
    return rec.owner === owner ? rec.status : undefined;
  }

  prune(): void {
    let removed = 0;
    try {
      for (const name of readdirSync(this.dir)) {
        const p = join(this.dir, name);
        try {
          if (this.now() - statSync(p).mtimeMs > STATUS_RETENTION_MS) {
            unlinkSync(p);
            removed++;
          }
        } catch {
          // gone meanwhile
        }
      }
    } catch (err) {
      this.log.warn({ err, dir: this.dir }, 'cannot prune TAXII status resources');
    }
    if (removed) this.log.info({ removed }, 'TAXII status resources past retention removed');
  }

  close(): void {
    clearInterval(this.timer);
  }
}
