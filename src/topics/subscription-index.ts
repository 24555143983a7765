// Indexes over the stored subscriptions, derived from them (rebuilt at start), so that
// delivery, the §6 lists and the per-account and per-topic caps never scan the whole grid.
import type { Subscription } from './types.js';

export class SubscriptionIndex {
  /** subtopic node → subids. */
  private readonly bySubtopic = new Map<string, Set<string>>();
  /** topic → subids. */
  private readonly byTopic = new Map<string, Set<string>>();
  /** topic → its subtopic nodes. */
  private readonly subtopicsByTopic = new Map<string, Set<string>>();
  /** account → subids. */
  private readonly byOwner = new Map<string, Set<string>>();
  /** topic → its subtopic nodes sorted, made once per change (a §6 list is paged often). */
  private readonly sorted = new Map<string, string[]>();

  add(s: Subscription): void {
    addTo(this.byTopic, s.topic, s.subid);
    addTo(this.byOwner, s.owner, s.subid);
    if (!s.subtopic) return;
    addTo(this.bySubtopic, s.subtopic, s.subid);
    const ts = this.subtopicsByTopic.get(s.topic);
    if (!ts?.has(s.subtopic)) this.sorted.delete(s.topic);
    addTo(this.subtopicsByTopic, s.topic, s.subtopic);
  }

  /** Returns true when this was the subtopic's last subscription. */
  remove(s: Subscription): boolean {
    this.byTopic.get(s.topic)?.delete(s.subid);
    this.byOwner.get(s.owner)?.delete(s.subid);
    if (!s.subtopic) return false;
    const st = this.bySubtopic.get(s.subtopic);
    st?.delete(s.subid);
    if (st && st.size === 0) {
      this.bySubtopic.delete(s.subtopic);
      this.subtopicsByTopic.get(s.topic)?.delete(s.subtopic);
      this.sorted.delete(s.topic);
      return true;
    }
    return false;
  }

  clear(): void {
    for (const m of [this.bySubtopic, this.byTopic, this.subtopicsByTopic, this.byOwner, this.sorted]) m.clear();
  }

  ofTopic(topic: string): ReadonlySet<string> {
    return this.byTopic.get(topic) ?? EMPTY;
  }

  ofOwner(owner: string): ReadonlySet<string> {
    return this.byOwner.get(owner) ?? EMPTY;
  }

  ofSubtopic(node: string): ReadonlySet<string> {
    return this.bySubtopic.get(node) ?? EMPTY;
  }

  subtopicExists(node: string): boolean {
    return (this.bySubtopic.get(node)?.size ?? 0) > 0;
  }

  subtopicCount(topic: string): number {
    return this.subtopicsByTopic.get(topic)?.size ?? 0;
  }

  /** A topic's subtopic nodes in order. */
  sortedSubtopics(topic: string): readonly string[] {
    let list = this.sorted.get(topic);
    if (!list) {
      list = [...(this.subtopicsByTopic.get(topic) ?? [])].sort();
      this.sorted.set(topic, list);
    }
    return list;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function addTo(m: Map<string, Set<string>>, key: string, value: string): void {
  let set = m.get(key);
  if (!set) m.set(key, (set = new Set()));
  set.add(value);
}
