// Bulk download grants (PROTOCOL §9): `<bulk/>` checks `bulk` and hands out a single-use URL,
// valid 5 minutes, on the HTTPS (TAXII) door, which streams the objects the §7 form selects.
// The grant lives here, between the doors: the XMPP door issues it, the TAXII door takes it.
import { randomBytes } from 'node:crypto';
import { audit, type Logger } from '../log.js';
import { fail, isFail, ok, type Result } from '../result.js';
import { parseFilter } from '../filters/parse.js';
import type { PolicySubject } from '../policy/types.js';
import type { QueryRequest } from './query.js';
import type { TopicService } from './service.js';

export const BULK_TTL_MS = 5 * 60_000;

export interface BulkGrant {
  jid: string;
  /** The topic (bulk serves topics, not subtopic nodes). */
  topic: string;
  query: QueryRequest;
  expires: number;
}

export class BulkGrants {
  private readonly grants = new Map<string, BulkGrant>();
  /** Set by the door that serves the URLs (TAXII): token → URL. Null: no such door, bulk is unavailable. */
  urlOf: ((token: string) => string) | null = null;

  constructor(private readonly topics: TopicService, private readonly log: Logger, private readonly now: () => number = Date.now) {}

  grant(subject: PolicySubject, node: string, query: QueryRequest): Result<{ url: string; expires: string }> {
    if (!this.urlOf) return fail('feature-not-implemented', 'bulk download needs the HTTPS (TAXII) server: set taxii.listen', 'bulk');
    const a = this.topics.check(subject, 'bulk', node);
    if (isFail(a)) return a;
    if (a.subtopic) return fail('bad-request', 'bulk download serves a topic: give the topic node and the filter');
    if (query.filter && Object.keys(query.filter).length) {
      const p = parseFilter(query.filter, a.topic, this.topics.limits.filter);
      if (isFail(p)) return p;
    }
    this.prune();
    const token = randomBytes(24).toString('base64url');
    const expires = this.now() + BULK_TTL_MS;
    this.grants.set(token, { jid: subject.jid, topic: a.topic.name, query, expires });
    audit(this.log, 'bulk-granted', { jid: subject.jid, topic: a.topic.name, expires: new Date(expires).toISOString() });
    return ok({ url: this.urlOf(token), expires: new Date(expires).toISOString() });
  }

  /** The grant, once: a second take, or one after 5 minutes, finds nothing. */
  take(token: string): BulkGrant | undefined {
    const g = this.grants.get(token);
    this.grants.delete(token);
    return g && g.expires > this.now() ? g : undefined;
  }

  private prune(): void {
    const t = this.now();
    for (const [k, g] of this.grants) if (g.expires <= t) this.grants.delete(k);
  }
}
