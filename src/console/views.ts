// What each console page shows, read from the core services at request time. Pure reads: no
// page changes anything (the two actions are in actions.ts). Plain data, rendered by pages.ts.
import type { AccountService } from '../accounts/service.js';
import type { AccountStatus } from '../accounts/types.js';
import type { TopicService } from '../topics/service.js';
import type { ItemStore } from '../store/types.js';
import type { SeenBook } from '../admin/seen.js';
import type { StatusReport } from '../admin/status.js';
import type { AuditEntry, AuditRing } from '../admin/audit-ring.js';
import { topicCarried } from '../admin/topic-stats.js';
import type { Logger } from '../log.js';

export interface ConsoleDeps {
  accounts: AccountService;
  topics: TopicService;
  itemStore: Pick<ItemStore, 'list'>;
  seen: SeenBook;
  /** The `status` report (policy digest, last reload, link, counts). */
  status: () => StatusReport;
  audit: AuditRing;
  log: Logger;
  /** taxii.public_url: a POST's Origin may be this one as well as the Host it was sent to. */
  publicUrl?: string;
  now?: () => Date;
}

export interface NodeRow {
  jid: string;
  state: AccountStatus;
  groups: string[];
  requested: string[];
  deviceType: string;
  online: boolean;
  lastSeen: string | null;
  decidedBy: string;
  decidedAt: string;
}

export function nodeRows(d: ConsoleDeps, only?: AccountStatus): NodeRow[] {
  return d.accounts.list().map((a) => {
    const seen = d.seen.get(a.jid);
    return {
      jid: a.jid, state: d.accounts.effectiveStatus(a), groups: a.groups, requested: a.requestedGroups, deviceType: a.deviceType ?? '',
      online: seen.online, lastSeen: seen.lastSeen, decidedBy: a.decidedBy, decidedAt: a.decidedAt,
    };
  }).filter((r) => !only || r.state === only).sort((x, y) => (x.jid < y.jid ? -1 : x.jid > y.jid ? 1 : 0));
}

export interface PendingRow extends NodeRow {
  description: string;
  certSubject: string;
  certIssuer: string;
  fingerprint: string;
  notAfter: string;
  since: string;
}

/** Who asks, with which certificate: what an administrator decides on. */
export function pendingRows(d: ConsoleDeps): PendingRow[] {
  return nodeRows(d, 'pending').map((r) => {
    const a = d.accounts.get(r.jid)!;
    return { ...r, description: a.description ?? '', certSubject: dnText(a.cert.subject), certIssuer: dnText(a.cert.issuer), fingerprint: a.cert.fingerprint, notAfter: a.cert.notAfter, since: a.updatedAt };
  });
}

/** A distinguished name as `accounts show` prints it (src/cli/accounts-show.ts). */
function dnText(rdn: Record<string, string>): string {
  return Object.entries(rdn).map(([k, v]) => `${k}=${v}`).join(', ') || '—';
}

export interface TopicRow {
  name: string;
  title: string;
  contentType: string;
  filtering: string;
  filterFields: Record<string, string>;
  source: string;
  subscribers: number;
  subtopics: { node: string; filter: Record<string, string[]>; subscribers: number }[];
  items: number;
  maxItems: number;
  lastHour: number;
  lastDay: number;
  lastPublished: string | null;
  publishedBy: string[];
}

const HOUR = 3600_000;

export function topicRows(d: ConsoleDeps): TopicRow[] {
  const now = (d.now?.() ?? new Date()).getTime();
  return d.topics.allTopics().map((t) => {
    const stored = d.itemStore.list(t.name);
    let lastHour = 0;
    let lastDay = 0;
    // Newest last: walk back until a day ago.
    for (let i = stored.length - 1; i >= 0; i--) {
      const age = now - Date.parse(stored[i]!.published);
      if (age > 24 * HOUR) break;
      lastDay++;
      if (age <= HOUR) lastHour++;
    }
    const carried = topicCarried(d.itemStore, t.name);
    return {
      name: t.name, title: t.title ?? '', contentType: t.contentType, filtering: t.filtering, filterFields: t.filterFields, source: t.source,
      subscribers: d.topics.subscriptionsOf(t.name).length,
      subtopics: d.topics.subtopics(t.name).map((s) => ({ node: s.node, filter: s.filter, subscribers: s.subscribers })),
      items: carried.items, maxItems: t.maxItems, lastHour, lastDay, lastPublished: carried.last_published, publishedBy: carried.published_by,
    };
  }).sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

export function auditRows(d: ConsoleDeps, max = 200): AuditEntry[] {
  return d.audit.recent(max);
}
