// What `topics list` adds to the directory: how much each topic carries. Read from the item
// store's memory (no disk access): the stored items, who actually published them, and when
// the newest was published — distinct from the publisher *affiliations* (§6), which say who
// may publish.
import type { ItemStore } from '../store/types.js';
import { bareJid } from '../jid.js';

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
