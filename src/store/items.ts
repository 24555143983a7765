// Item history: one append-only log per topic (see topic-log.ts), all replayed into memory at
// open. Memory holds at most max_items items (with payloads) per topic; a publish costs one
// framed append shared with concurrent publishers by group commit, whatever the history.
import { mkdir, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { FdCache } from './fd-cache.js';
import { unlinkIfExists, writeSynced } from './fsutil.js';
import { fileNameToTopic, topicToFileName } from './names.js';
import { decodeRecords, LogFormatError, type LogRecord } from './record.js';
import { TopicLog, type TopicLogEnv } from './topic-log.js';
import type { ItemStore, ItemStoreOptions, ItemStoreStats, NewItem, StoredItem } from './types.js';

class LogItemStore implements ItemStore {
  private readonly topics = new Map<string, TopicLog>();
  private readonly env: TopicLogEnv;
  private readonly truncated: ItemStoreStats['truncated'] = [];
  private closed = false;

  constructor(private readonly dir: string, opts: ItemStoreOptions, private readonly log?: Logger) {
    this.env = {
      fds: new FdCache(opts.maxOpenFiles ?? 64),
      groupCommitMs: opts.groupCommitMs ?? 0,
      compactFactor: opts.compactFactor ?? 4,
      compactMinDead: opts.compactMinDead ?? 1000,
      counters: { appends: 0, fsyncs: 0, compactions: 0 },
      log,
      ...(opts.onFsync ? { onFsync: opts.onFsync } : {}),
    };
  }

  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      // An unfinished compaction: the log it was replacing is still whole.
      if (name.endsWith('.compact-tmp')) await unlinkIfExists(join(this.dir, name));
    }
    for (const name of (await readdir(this.dir)).sort()) {
      const topic = fileNameToTopic(name);
      if (topic !== undefined) await this.replay(topic, join(this.dir, name));
    }
  }

  private async replay(topic: string, path: string): Promise<void> {
    const buf = await readFile(path);
    let decoded;
    try {
      decoded = decodeRecords(buf);
    } catch (e) {
      if (e instanceof LogFormatError) throw new LogFormatError(`item log ${path}: ${e.message}`);
      throw e;
    }
    const t = new TopicLog(topic, path, this.env);
    for (const rec of decoded.records) t.apply(rec);
    t.opened(decoded.records.length);
    this.topics.set(topic, t);
    if (decoded.goodBytes < buf.length) await this.cutTail(topic, path, buf, decoded.goodBytes, decoded.stopReason);
  }

  /** Keep the cut bytes beside the log (evidence, never silently destroyed), then truncate. */
  private async cutTail(topic: string, path: string, buf: Buffer, good: number, reason?: string): Promise<void> {
    const bytes = buf.length - good;
    const aside = `${path}.torn-${Date.now()}`;
    await writeSynced(aside, buf.subarray(good));
    const fh = await open(path, 'r+');
    try {
      await fh.truncate(good);
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.truncated.push({ topic, bytes });
    this.log?.warn({ topic, file: path, bytes, reason, savedTo: aside }, 'item log had a torn or corrupt tail; truncated it');
  }

  private topicLog(topic: string): TopicLog {
    let t = this.topics.get(topic);
    if (!t) {
      t = new TopicLog(topic, join(this.dir, topicToFileName(topic)), this.env);
      t.opened(0);
      this.topics.set(topic, t);
    }
    return t;
  }

  async append(topic: string, item: NewItem, maxItems: number): Promise<StoredItem> {
    if (this.closed) throw new Error('item store is closed');
    if (!(maxItems >= 1)) throw new RangeError(`maxItems must be at least 1, got ${maxItems}`);
    const t = this.topicLog(topic);
    const rec: Extract<LogRecord, { k: 'put' }> = { k: 'put', s: t.nextSeq(), id: item.id, pub: item.publisher, ts: item.published, p: item.payload };
    if (Number.isSafeInteger(Math.floor(maxItems))) rec.max = Math.floor(maxItems);
    this.env.counters.appends++;
    return t.submit<StoredItem>(rec);
  }

  latest(topic: string, n: number): StoredItem[] {
    return n > 0 ? this.list(topic).slice(-n) : [];
  }

  after(topic: string, seq: number, limit: number): StoredItem[] {
    const out: StoredItem[] = [];
    for (const it of this.topics.get(topic)?.items.values() ?? []) {
      if (out.length >= limit) break;
      if (it.seq > seq) out.push(it);
    }
    return out;
  }

  get(topic: string, id: string): StoredItem | undefined {
    return this.topics.get(topic)?.items.get(id);
  }

  list(topic: string): StoredItem[] {
    return [...(this.topics.get(topic)?.items.values() ?? [])];
  }

  oldestSeq(topic: string): number | undefined {
    for (const it of this.topics.get(topic)?.items.values() ?? []) return it.seq;
    return undefined;
  }

  highSeq(topic: string): number {
    return this.topics.get(topic)?.hw ?? 0;
  }

  async trim(topic: string, maxItems: number): Promise<number> {
    this.assertOpen();
    const t = this.topics.get(topic);
    if (!t || !(maxItems >= 1) || t.items.size <= maxItems) return 0;
    return t.submit<number>({ k: 'trim', max: Math.floor(maxItems) });
  }

  async retract(topic: string, id: string): Promise<boolean> {
    this.assertOpen();
    const t = this.topics.get(topic);
    if (!t || (!t.items.has(id) && !t.pendingPut(id))) return false;
    return t.submit<boolean>({ k: 'ret', id });
  }

  async purge(topic: string): Promise<void> {
    this.assertOpen();
    const t = this.topics.get(topic);
    if (t) await t.submit({ k: 'purge' });
  }

  async deleteTopic(topic: string): Promise<void> {
    this.assertOpen();
    const t = this.topics.get(topic);
    // Purge and rewrite the log down to its high-water mark: a topic created again under the
    // same name continues the seq, so a node's after_seq never skips its new items.
    if (t) await t.submit({ k: 'purge' }, true);
  }

  stats(): ItemStoreStats {
    const c = this.env.counters;
    return { ...c, openFiles: this.env.fds.size, truncated: [...this.truncated] };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.topics.values()) await t.idle();
    await this.env.fds.closeAll();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('item store is closed');
  }
}

export async function openItemStore(dir: string, opts: ItemStoreOptions = {}): Promise<ItemStore> {
  const store = new LogItemStore(dir, opts, opts.log);
  await store.load();
  return store;
}
