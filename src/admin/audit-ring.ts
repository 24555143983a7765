// The most recent audit events (authorization decisions, registrations, account changes), for
// the web console: a bounded ring fed by the audit logger's tap (log.ts tapAudit), so it holds
// exactly what the log holds, whatever the log level. Bounded twice: by count, and each event's
// fields by serialised size, so no node can make it grow.
export interface AuditEntry {
  /** ISO date-time the event was logged. */
  at: string;
  event: string;
  /** The event's fields; when their JSON was too long, `{ truncated: <its first bytes> }`. */
  fields: Readonly<Record<string, unknown>>;
}

export const AUDIT_RING_SIZE = 500;
const MAX_FIELDS_JSON = 2000;

export class AuditRing {
  private readonly ring: AuditEntry[] = [];
  private next = 0;
  /** Events seen since start (the ring keeps the last `size`). */
  total = 0;

  constructor(readonly size = AUDIT_RING_SIZE, private readonly now: () => Date = () => new Date()) {}

  add(event: string, fields: Readonly<Record<string, unknown>>): void {
    let kept: Readonly<Record<string, unknown>>;
    try {
      const json = JSON.stringify(fields) ?? '{}';
      // A copy: later changes to the caller's object do not show.
      kept = json.length > MAX_FIELDS_JSON ? { truncated: `${json.slice(0, MAX_FIELDS_JSON)}…` } : JSON.parse(json) as Record<string, unknown>;
    } catch {
      kept = { unserialisable: true };
    }
    const e: AuditEntry = { at: this.now().toISOString(), event, fields: kept };
    if (this.ring.length < this.size) this.ring.push(e);
    else this.ring[this.next] = e;
    this.next = (this.next + 1) % this.size;
    this.total++;
  }

  /** Newest first, at most `max`. */
  recent(max = this.size): AuditEntry[] {
    const out: AuditEntry[] = [];
    const n = this.ring.length;
    for (let i = 1; i <= Math.min(max, n); i++) out.push(this.ring[(this.next - i + n * 2) % n]!);
    return out;
  }
}
