// A topic's settings and its name as the item store holds it: the declared configuration of
// a policy topic, the configuration part of a Topic, and the storage-name rule.
import type { TopicDecl } from '../policy/types.js';
import { topicToFileName } from '../store/names.js';
import type { Topic, TopicConfig } from './types.js';

/**
 * Why the item store could not hold this topic's items (or its subtopics'), or null. A valid
 * name of 128 characters with many '/' is too long once encoded as a file name (each '/' is
 * %2F); without this check the first publish threw inside the item store (found by the fuzz).
 */
export function storageNameProblem(name: string): string | null {
  // Names this short cannot overflow even with every byte escaped: skip the work.
  if (name.length <= 70) return null;
  try {
    topicToFileName(`${name}~0000000000000000`);
    return null;
  } catch (err) {
    return `topic name ${name.slice(0, 40)}… cannot be stored: ${(err as Error).message}`;
  }
}

/** The configuration a policy file declares for a topic. */
export function declConfig(t: TopicDecl): TopicConfig {
  return {
    ...(t.title ? { title: t.title } : {}),
    ...(t.description ? { description: t.description } : {}),
    contentType: t.contentType, filtering: t.filtering, filterFields: t.filterFields, maxItems: t.maxItems,
    ...(t.payloadNamespace ? { payloadNamespace: t.payloadNamespace } : {}),
    ...(t.itemExpire ? { itemExpire: t.itemExpire } : {}),
    notificationType: t.notificationType ?? 'normal',
  };
}

/** The configuration part of a topic (what configure changes). */
export function configOf(t: Topic): TopicConfig {
  const { name: _n, source: _s, owner: _o, publishers: _p, createdAt: _c, ...cfg } = t;
  return cfg;
}
