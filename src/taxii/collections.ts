// Collections are the STIX 2.1 topics an account may discover (PROTOCOL §13): ids by the
// pinned derivation, a topic it may not discover is 404 (never 403), can_read = query
// permitted, can_write = publish permitted.
import type { PolicySubject } from '../policy/types.js';
import { STIX_CONTENT_TYPE } from '../payloads/index.js';
import type { TopicService } from '../topics/service.js';
import type { Topic } from '../topics/types.js';
import { isFail, type Fail } from '../result.js';
import type { Access } from '../topics/access.js';
import { collectionId } from './ids.js';
import { STIX_MEDIA } from './media.js';

export interface CollectionResource {
  id: string;
  title: string;
  description?: string;
  alias: string;
  can_read: boolean;
  can_write: boolean;
  media_types: string[];
}

export class Collections {
  private readonly ids = new Map<string, string>();

  constructor(private readonly topics: TopicService, private readonly domain: string) {}

  idOf(topic: string): string {
    let id = this.ids.get(topic);
    if (id === undefined) {
      id = collectionId(this.domain, topic);
      this.ids.set(topic, id);
    }
    return id;
  }

  /** The STIX 2.1 topic whose collection id is `id`, whoever asks. */
  topicOf(id: string): Topic | undefined {
    return this.stixTopics().find((t) => this.idOf(t.name) === id);
  }

  stixTopics(): Topic[] {
    return this.topics.allTopics().filter((t) => t.contentType === STIX_CONTENT_TYPE);
  }

  /** Checks `op` on the collection's topic: a topic not discoverable or unknown is item-not-found. */
  check(subject: PolicySubject, id: string, op: 'discover' | 'query' | 'publish'): Access | Fail {
    const t = this.topicOf(id.toLowerCase());
    if (!t) return { fail: 'item-not-found', text: `no collection ${id}` };
    const a = this.topics.check(subject, op, t.name);
    if (isFail(a) && a.fail === 'item-not-found') return { fail: 'item-not-found', text: `no collection ${id}` };
    return a;
  }

  resource(subject: PolicySubject, t: Topic): CollectionResource {
    const permits = (op: 'query' | 'publish') => this.topics.auth.decide(subject, op, t.name).effect === 'permit';
    return {
      id: this.idOf(t.name), title: t.title ?? t.name, ...(t.description ? { description: t.description } : {}),
      alias: t.name, can_read: permits('query'), can_write: permits('publish'), media_types: [STIX_MEDIA],
    };
  }

  /** Every collection `subject` may discover. */
  list(subject: PolicySubject): CollectionResource[] {
    return this.stixTopics()
      .filter((t) => !isFail(this.topics.check(subject, 'discover', t.name)))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((t) => this.resource(subject, t));
  }
}
