// Item history: one append-only log per topic (see topic-log.ts), replayed into an index at
// open; payloads stay on disk behind a bounded cache. A publish costs one framed append (shared
// with concurrent publishers by group commit) and one seq-file write, whatever the history.
//
// At open a torn tail (a write a crash interrupted: never acknowledged) is cut and logged at
// warn. Damage (a frame that was acknowledged and no longer reads) costs that frame only: it is
// logged at error, counted in stats().damage, the damaged log is kept aside as `<log>.bad-<ms>`
// and the log is rewritten without it. The seq file keeps the high-water mark above it all.
import { mkdir, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { FdCache } from './fd-cache.js';
import { fsyncDir, unlinkIfExists, writeSynced } from './fsutil.js';
import { fileNameToTopic, topicToFileName } from './names.js';
import { LogFormatError, type LogRecord } from './record.js';
import { scanLog, type Region, type Scan } from './log-scan.js';
import { isFormat1, migrateFormat1 } from './legacy-log.js';
import { PayloadCache, SyncReader } from './payload-cache.js';
import { readSeqFile, SEQ_SUFFIX } from './seq-file.js';
import { TopicLog, type Entry, type TopicLogEnv } from './topic-log.js';
import { DEFAULT_CACHE_BYTES, type ItemDamage, type ItemStore, type ItemStoreOptions, type ItemStoreStats, type NewItem, type StoredItem } from './types.js';

class LogItemStore implements ItemStore {
  private readonly topics = new Map<string, TopicLog>();
  private readonly env: TopicLogEnv;
  private readonly truncated: ItemStoreStats['truncated'] = [];
  private closed = false;

  constructor(private readonly dir: string, opts: ItemStoreOptions, private readonly log?: Logger) {
    const maxOpen = opts.maxOpenFiles ?? 64;
    this.env = {
      fds: new FdCache(maxOpen),
      reader: new SyncReader(maxOpen),
      cache: new PayloadCache<Entry>(opts.cacheBytes ?? DEFAULT_CACHE_BYTES),
      groupCommitMs: opts.groupCommitMs ?? 0,
      compactFactor: opts.compactFactor ?? 4,
      compactMinDead: opts.compactMinDead ?? 1000,
      counters: { appends: 0, fsyncs: 0, compactions: 0 },
      damage: [],
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
    const names = await readdir(this.dir);
    for (const name of names) {
      // A seq file whose log is gone (removed, lost): recreate the log empty, so the topic keeps
      // its high-water mark, and replay reports the loss.
      const log = name.endsWith(SEQ_SUFFIX) ? name.slice(0, -SEQ_SUFFIX.length) : undefined;
      if (log && fileNameToTopic(log) !== undefined && !names.includes(log)) {
        await writeSynced(join(this.dir, log), '');
        await fsyncDir(this.dir);
      }
    }
    for (const name of (await readdir(this.dir)).sort()) {
      const topic = fileNameToTopic(name);
      if (topic !== undefined) await this.replay(topic, join(this.dir, name));
    }
  }

  private async replay(topic: string, path: string): Promise<void> {
    const t = new TopicLog(topic, path, this.env);
    const seqFile = await readSeqFile(t.seqPath);
    if ('problem' in seqFile) this.log?.error({ topic, file: t.seqPath, problem: seqFile.problem }, 'seq file unreadable: the high-water mark comes from the log alone');
    const durable = 'seq' in seqFile ? seqFile.seq : 0;
    if (await isFormat1(path)) await this.migrate(topic, path);
    const scan = await this.scan(path);
    for (const f of scan.frames) t.apply(f.rec, f);
    const fromLog = Math.max(t.hw, ...scan.damaged.flatMap((d) => d.seqs));
    // The tail is damage, not a torn write, if it held a seq that was acknowledged — or if an
    // acknowledged seq is nowhere in the log. A torn write's seq was never acknowledged: reused.
    const tailIsDamage = !!scan.tail && (scan.tail.seqs.some((s) => s <= durable) || durable > fromLog);
    t.raise(fromLog);
    if (tailIsDamage) t.raise(Math.max(0, ...scan.tail!.seqs));
    t.raise(durable);
    t.durableSeq = durable;
    t.opened(scan.frames.length);
    this.topics.set(topic, t);
    const damaged = tailIsDamage ? [...scan.damaged, scan.tail!] : scan.damaged;
    if (damaged.length > 0) {
      const aside = `${path}.bad-${Date.now()}`;
      for (const d of damaged) this.reportDamage(t, d, aside);
      if (scan.tail && !tailIsDamage) this.reportTorn(t, scan.tail, aside);
      await t.compact(aside);
    } else if (scan.tail) {
      await this.cutTail(t, scan, scan.tail);
    } else if (durable > fromLog) {
      this.reportDamage(t, { off: scan.size, bytes: 0, reason: `the log ends before seq ${durable}, which was acknowledged: its last frames are gone`, seqs: [] });
    }
    await t.keepSeq(t.hw); // a missing or stale seq file (format 1, first open) starts here
  }

  private async scan(path: string): Promise<Scan> {
    const fh = await open(path, 'r');
    try {
      return await scanLog(fh, (await fh.stat()).size);
    } catch (e) {
      if (e instanceof LogFormatError) throw new LogFormatError(`item log ${path}: ${e.message}`);
      throw e;
    } finally {
      await fh.close();
    }
  }

  private async migrate(topic: string, path: string): Promise<void> {
    const keepAs = `${path}.v1-${Date.now()}`;
    let f;
    try {
      f = await migrateFormat1(path, keepAs);
    } catch (e) {
      if (e instanceof LogFormatError) throw new LogFormatError(`item log ${path}: ${e.message}`);
      throw e;
    }
    this.log?.info({ topic, file: path, records: f.records.length }, 'item log migrated to format 2');
    for (const d of f.damaged) this.reportDamage({ topic, path }, { off: d.off, bytes: d.bytes, reason: 'unreadable format-1 frame', seqs: [] }, keepAs);
    if (f.tail) this.reportTorn({ topic, path }, { off: f.tail.off, bytes: f.tail.bytes, reason: 'format-1 tail', seqs: [] }, keepAs);
  }

  private reportDamage(t: { topic: string; path: string }, r: Region, savedTo?: string): void {
    const d: ItemDamage = { topic: t.topic, offset: r.off, bytes: r.bytes, seqs: r.seqs, reason: r.reason, found: 'open', ...(savedTo ? { savedTo } : {}) };
    this.env.damage.push(d);
    this.log?.error({ ...d, file: t.path }, 'item log damaged: stored items lost; the frames after the damage are kept');
  }

  private reportTorn(t: { topic: string; path: string }, r: Region, savedTo: string): void {
    this.truncated.push({ topic: t.topic, bytes: r.bytes });
    this.log?.warn({ topic: t.topic, file: t.path, offset: r.off, bytes: r.bytes, reason: r.reason, savedTo }, 'item log had a torn tail (an unacknowledged write); cut it');
  }

  /** Keep the cut bytes beside the log (evidence, never silently destroyed), then truncate. */
  private async cutTail(t: TopicLog, scan: Scan, tail: Region): Promise<void> {
    const aside = `${t.path}.torn-${Date.now()}`;
    const fh = await open(t.path, 'r+');
    try {
      const bytes = Buffer.alloc(tail.bytes);
      await fh.read(bytes, 0, tail.bytes, tail.off);
      await writeSynced(aside, bytes);
      await fh.truncate(scan.size - tail.bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.reportTorn(t, tail, aside);
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
    const t = this.topics.get(topic);
    const out: StoredItem[] = [];
    for (const e of t?.items.values() ?? []) {
      if (out.length >= limit) break;
      if (e.seq > seq) out.push(t!.view(e));
    }
    return out;
  }

  get(topic: string, id: string): StoredItem | undefined {
    const t = this.topics.get(topic);
    const e = t?.items.get(id);
    return e && t!.view(e);
  }

  list(topic: string): StoredItem[] {
    const t = this.topics.get(topic);
    return t ? [...t.items.values()].map((e) => t.view(e)) : [];
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

  async expire(topic: string, before: number): Promise<number> {
    this.assertOpen();
    const t = this.topics.get(topic);
    if (!t) return 0;
    // Submitted in one tick, so one write and one fdatasync for all (group commit). An id whose
    // newer version is queued is left alone: its 'ret' would be applied after that put.
    const old = [...t.items.values()].filter((e) => Date.parse(e.published) < before && !t.pendingPut(e.id));
    const done = await Promise.all(old.map((e) => t.submit<boolean>({ k: 'ret', id: e.id })));
    return done.filter(Boolean).length;
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
    const { counters: c, cache, reader } = this.env;
    return {
      ...c, openFiles: this.env.fds.size, truncated: [...this.truncated], damage: [...this.env.damage],
      cache: { limit: cache.limit, bytes: cache.bytes, items: cache.size, hits: cache.hits, misses: cache.misses, diskReads: reader.reads },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.topics.values()) await t.idle();
    await this.env.fds.closeAll();
    this.env.reader.closeAll();
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
