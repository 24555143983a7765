// What `topics list` adds to the directory: how much each topic carries. Read from the item
// store's memory (no disk access): the stored items, who actually published them, and when
// the newest was published — distinct from the publisher *affiliations* (§6), which say who
// may publish.
import type { ItemStore } from '../store/types.js';
import { bareJid } from '../jid.js';
import type { TopicService } from '../topics/service.js';

export interface TopicCarried {
  items: number;
  /** Bare JIDs that published a stored item, in order of their latest item (newest first). */
  published_by: string[];
  last_published: string | null;
}

export function topicCarried(store: Pick<ItemStore, 'list'>, topic: string): TopicCarried {
  const items = store.list(topic);
  const latest = new Map<string, number>();
  for (let i = items.length - 1; i >= 0; i--) {
    const p = bareJid(items[i]!.publisher);
    if (!latest.has(p)) latest.set(p, i);
  }
  return { items: items.length, published_by: [...latest.keys()], last_published: items.length ? items[items.length - 1]!.published : null };
}

/** The directory as `topics list` and XEP-0050 #topics show it: settings, subscribers, subtopics, what it carries. */
export function topicsSummary(topics: TopicService, items?: Pick<ItemStore, 'list'>) {
  return topics.allTopics().map((t) => ({
    name: t.name, content_type: t.contentType, filtering: t.filtering, source: t.source,
    publishers: t.publishers, subscribers: topics.subscriptionsOf(t.name).length,
    subtopics: topics.subtopics(t.name).map((s) => ({ node: s.node, subscribers: s.subscribers, filter: s.filter })),
    ...(items ? topicCarried(items, t.name) : {}),
  }));
}
