// Who is online, and when each node was last heard from — kept cheaply from the stanzas the
// controller receives anyway: no presence subscription, no roster, no extra traffic.
//
// A node talks to the controller whenever it registers, discovers, subscribes, publishes or
// queries (or pings, XEP-0199); each of these stamps "last seen". A subscriber that only
// listens sends nothing, so "online" is a lower bound: it reads "heard from recently". A node counts as online while it was heard from within `windowMs` and has not
// since been reported gone: a directed `<presence type='unavailable'/>` or a notification
// the server bounced back (PROTOCOL §5: a certificate login has no offline store, so a bounce
// means no session). Held in memory: O(1) per stanza, lost on restart (the CLI says "since").
// The JID is stamped before anything knows whether it has an account (a registering node has
// none yet), so the book is bounded: past `maxEntries` the longest-silent entry goes.
export interface Seen {
  online: boolean;
  /** ISO date-time of the last stanza from the node since the controller started; null if none. */
  lastSeen: string | null;
}

interface Entry {
  at: number;
  gone: boolean;
}

export class SeenBook {
  private readonly entries = new Map<string, Entry>();
  readonly since: string;

  constructor(
    private readonly windowMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 100_000,
  ) {
    this.since = new Date(this.now()).toISOString();
  }

  /** A stanza arrived from `bare` (lower-cased bare JID). */
  heard(bare: string): void {
    // Delete and re-insert: the Map's order is then least recently heard first.
    this.entries.delete(bare);
    this.entries.set(bare, { at: this.now(), gone: false });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** The node signed off, or the server said it has no session. */
  gone(bare: string): void {
    const e = this.entries.get(bare);
    if (e) e.gone = true;
  }

  forget(bare: string): void {
    this.entries.delete(bare);
  }

  get(bare: string): Seen {
    const e = this.entries.get(bare);
    if (!e) return { online: false, lastSeen: null };
    return { online: !e.gone && this.now() - e.at <= this.windowMs, lastSeen: new Date(e.at).toISOString() };
  }

  /** How many JIDs (those `counts`, e.g. accounts) are online now. */
  onlineCount(counts: (bare: string) => boolean = () => true): number {
    let n = 0;
    for (const k of this.entries.keys()) if (counts(k) && this.get(k).online) n++;
    return n;
  }
}
