// W3: the controller's core at grid scale — 10,000 accounts, 1,000 topics, 5,000 subtopics —
// built through the real services and stores (as src/main.ts wires them) in a process of its
// own, so the RSS it reports is that state's and nothing else's. Accounts are written to the
// data dir before the stores open (registration cost is measured apart, by registrations.ts);
// topics and subscriptions go through TopicService, each subscribe call timed.
//   node --expose-gc dist/bench/scale.js --dir D [--accounts 10000] [--topics 1000] [--subtopics 5000]
//        [--store files|postgres] [--pg-url postgresql://…]
// With --store postgres and no --pg-url, a PostgreSQL of its own is started in a temporary
// folder (test/helpers/postgres.ts) and stopped at the end. `reopen_s` is the time to open the
// stores again on the state built (what a controller's start-up spends on them).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { open, unlink } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { openStoreBackend, type StoreKind } from '../src/store/index.js';
import type { ControlStoreInternals } from '../src/store/control.js';
import { parsePolicyText } from '../src/policy/index.js';
import type { PolicySubject } from '../src/policy/types.js';
import { AccountService, EMPTY_ACCOUNTS } from '../src/accounts/service.js';
import type { Account, AccountsState } from '../src/accounts/types.js';
import { TopicService, EMPTY_TOPICS } from '../src/topics/service.js';
import { verifyRegistration } from '../src/identity/verify.js';
import type { Trust } from '../src/identity/types.js';
import { silentLogger } from '../src/log.js';
import { percentileOf } from './stats.js';
import { procMemory } from './procs.js';

export const SCALE_POLICY = `# Written by the benchmark (bench/scale.ts).
groups:
  bench: Benchmark nodes
rules:
  - id: scale-all
    effect: permit
    operations: [discover, create, publish, subscribe, query]
    groups: [bench]
    topics: ["scale/**"]
# end
`;

export interface ScaleResult {
  accounts: number; topics: number; subtopics: number; subscriptions: number;
  rss_mb: number; hwm_mb: number; baseline_rss_mb: number; heap_used_mb: number;
  subscribe_p50_ms: number; subscribe_p99_ms: number; subscribe_concurrent_p50_ms: number; subscribe_concurrent_p99_ms: number; subscribe_concurrent_max_ms: number; subscribe_concurrency: number; subscribe_sequential_calls: number;
  build_s: number;
  /**
   * What the machine gave this run: the load, the disk's own fdatasync (100 appends of 8 KB in
   * the data dir, before the build: the floor under a durable subscribe), and how late this
   * process's event loop ran (CPU starvation on a shared machine shows here).
   */
  conditions: { loadavg_1m: number; disk_fdatasync_p50_ms: number; disk_fdatasync_p99_ms: number; event_loop_delay_p99_ms: number; event_loop_delay_max_ms: number };
  /** Files store: snapshots written while building (each a write of the whole topics state). */
  topic_store_folds?: number;
  store: StoreKind;
  reopen_s: number;
}

const jidOf = (i: number) => `n${String(i).padStart(5, '0')}@grid.test`;

function account(i: number, t: string): Account {
  return {
    jid: jidOf(i), status: 'approved', groups: ['bench'], requestedGroups: [], createdAt: t, updatedAt: t, decidedBy: 'auto:bench', decidedAt: t,
    cert: {
      fingerprint: i.toString(16).padStart(64, '0'), serial: (0x10000 + i).toString(16), subject: { O: 'Grid Dev CA', OU: 'bench', CN: `n${i}` },
      issuer: { O: 'Grid Dev CA', CN: 'Grid Dev Root CA' }, notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2036-01-01T00:00:00.000Z', keyType: 'ec',
    } as Account['cert'],
  };
}

async function pool(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await fn(next++);
  }));
}

/** 100 appends of 8 KB + fdatasync in `dir`: the disk's latency, p50 and p99 in ms. */
async function fdatasyncProbe(dir: string): Promise<[number, number]> {
  const file = join(dir, 'fdatasync-probe');
  const fh = await open(file, 'a');
  const t: number[] = [];
  try {
    const buf = Buffer.alloc(8192, 0x61);
    for (let i = 0; i < 100; i++) {
      const s = performance.now();
      await fh.write(buf);
      await fh.datasync();
      t.push(performance.now() - s);
    }
  } finally {
    await fh.close();
    await unlink(file);
  }
  return [+percentileOf(t, 50)!.toFixed(2), +percentileOf(t, 99)!.toFixed(2)];
}

export async function buildScale(dir: string, o: { accounts: number; topics: number; subtopics: number; sequential?: number; store?: StoreKind; pgUrl?: string }): Promise<ScaleResult> {
  const baseline = procMemory(process.pid)!;
  const data = join(dir, 'var');
  mkdirSync(data, { recursive: true, mode: 0o700 });
  const [dsP50, dsP99] = await fdatasyncProbe(data);
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const t0 = performance.now();
  mkdirSync(join(dir, 'policies'), { recursive: true });
  writeFileSync(join(dir, 'policies', '00-scale.yaml'), SCALE_POLICY);
  const t = new Date().toISOString();
  const state: AccountsState = { ...EMPTY_ACCOUNTS, accounts: {} };
  for (let i = 0; i < o.accounts; i++) state.accounts[jidOf(i)] = account(i, t);
  const kind = o.store ?? 'files';
  if (kind === 'files') writeFileSync(join(data, 'accounts.json'), JSON.stringify(state));

  const parsed = parsePolicyText(SCALE_POLICY, '00-scale.yaml');
  if (!parsed.ok) throw new Error(`scale policy invalid: ${parsed.errors[0]?.message}`);
  const policy = parsed.policy;
  const log = silentLogger();
  const storeCfg = { data, store: { kind, url: o.pgUrl ?? '', cache_bytes: 32 * 1024 * 1024, control_on_corrupt: 'refuse' as const } };
  const backend = await openStoreBackend(storeCfg, log);
  const accountStore = await backend.control('accounts', EMPTY_ACCOUNTS);
  // PostgreSQL: the accounts go in with one update (one transaction), as a file would be written.
  if (kind === 'postgres') await accountStore.update((s) => void (s.accounts = state.accounts));
  const topicStore = await backend.control('topics', EMPTY_TOPICS);
  const accounts = new AccountService({
    store: accountStore, log, verify: verifyRegistration, trust: () => ({}) as Trust,
    policy: { autoApprove: () => null, declaredGroups: () => ['bench'], admins: () => [] },
  });
  const subjectOf = (bare: string): PolicySubject | null => accounts.subject(bare);
  const topics = new TopicService({ store: topicStore, policy: () => policy, subject: subjectOf, log });
  const topicName = (i: number) => `scale/t${String(i).padStart(4, '0')}`;
  const config = { contentType: 'application/stix+json;version=2.1' as const, filtering: 'controller' as const, filterFields: {}, maxItems: 1000, notificationType: 'normal' as const };
  await pool(o.topics, 50, async (i) => {
    const r = await topics.create(subjectOf(jidOf(i % o.accounts))!, topicName(i), config);
    if ('fail' in r) throw new Error(`create ${topicName(i)}: ${r.fail} ${r.text ?? ''}`);
  });

  // Every account subscribes once: the first `subtopics` with a filter of their own (one
  // subtopic each), the rest plain. 50 at a time, as many nodes coming online would.
  const CONCURRENCY = 50;
  const subscribe = async (i: number, tag: string): Promise<number> => {
    const jid = jidOf(i % o.accounts);
    const filter = i < o.subtopics ? { type: ['indicator'], labels: [`${tag}${i}`] } : null;
    const s = performance.now();
    const r = await topics.subscribe(subjectOf(jid)!, topicName(i % o.topics), jid, filter);
    if ('fail' in r) throw new Error(`subscribe ${jid}: ${r.fail} ${r.text ?? ''}`);
    return performance.now() - s;
  };
  const concurrent: number[] = [];
  await pool(o.accounts, CONCURRENCY, async (i) => { concurrent.push(await subscribe(i, 'l')); });
  // At full scale, one call at a time: the cost of a subscribe itself, no queueing.
  const sequential: number[] = [];
  for (let i = 0; i < (o.sequential ?? 200); i++) sequential.push(await subscribe(i, 'extra'));

  (globalThis as { gc?: () => void }).gc?.();
  const mem = procMemory(process.pid)!;
  const heap = process.memoryUsage().heapUsed;
  const subtopicCount = new Set(Object.values(topicStore.data.subscriptions).map((s) => s.subtopic).filter(Boolean)).size;
  const result: ScaleResult = {
    accounts: accounts.list().length, topics: topics.allTopics().length, subtopics: subtopicCount,
    subscriptions: Object.keys(topicStore.data.subscriptions).length,
    rss_mb: mem.rss_mb, hwm_mb: mem.hwm_mb, baseline_rss_mb: baseline.rss_mb, heap_used_mb: +(heap / 1048576).toFixed(1),
    subscribe_p50_ms: +percentileOf(sequential, 50)!.toFixed(3), subscribe_p99_ms: +percentileOf(sequential, 99)!.toFixed(3),
    subscribe_concurrent_p50_ms: +percentileOf(concurrent, 50)!.toFixed(3), subscribe_concurrent_p99_ms: +percentileOf(concurrent, 99)!.toFixed(3),
    subscribe_concurrent_max_ms: +Math.max(...concurrent).toFixed(3), subscribe_concurrency: CONCURRENCY, subscribe_sequential_calls: sequential.length,
    build_s: +((performance.now() - t0) / 1000).toFixed(1),
    store: kind, reopen_s: 0,
    conditions: { loadavg_1m: +loadavg()[0]!.toFixed(2), disk_fdatasync_p50_ms: dsP50, disk_fdatasync_p99_ms: dsP99, event_loop_delay_p99_ms: +(loop.percentile(99) / 1e6).toFixed(1), event_loop_delay_max_ms: +(loop.max / 1e6).toFixed(1) },
  };
  loop.disable();
  const folds = (topicStore as Partial<ControlStoreInternals>).folds?.();
  if (folds !== undefined) result.topic_store_folds = folds;
  await topicStore.close();
  await accountStore.close();
  await backend.close();
  const r0 = performance.now();
  const again = await openStoreBackend(storeCfg, log);
  const accounts2 = await again.control('accounts', EMPTY_ACCOUNTS);
  const topics2 = await again.control('topics', EMPTY_TOPICS);
  const items = await again.items();
  result.reopen_s = +((performance.now() - r0) / 1000).toFixed(3);
  if (Object.keys(topics2.data.subscriptions).length !== result.subscriptions || Object.keys(accounts2.data.accounts).length !== result.accounts) throw new Error('reopened state differs');
  await accounts2.close();
  await topics2.close();
  await items.close();
  await again.close();
  return result;
}

if (process.argv[1]?.endsWith('/bench/scale.js')) {
  const { values } = parseArgs({ options: { dir: { type: 'string' }, accounts: { type: 'string' }, topics: { type: 'string' }, subtopics: { type: 'string' }, sequential: { type: 'string' }, store: { type: 'string' }, 'pg-url': { type: 'string' } } });
  if (!values.dir) throw new Error('--dir is required');
  const store = (values.store ?? 'files') as StoreKind;
  if (store !== 'files' && store !== 'postgres') throw new Error('--store must be files or postgres');
  const run = async (): Promise<ScaleResult> => {
    let pgUrl = values['pg-url'];
    let stop = async (): Promise<void> => undefined;
    if (store === 'postgres' && !pgUrl) {
      const { startPostgres } = await import('../test/helpers/postgres.js');
      const server = await startPostgres();
      pgUrl = server.url;
      stop = () => server.stop();
    }
    try {
      return await buildScale(values.dir!, { accounts: Number(values.accounts ?? 10_000), topics: Number(values.topics ?? 1000), subtopics: Number(values.subtopics ?? 5000), sequential: Number(values.sequential ?? 200), store, ...(pgUrl ? { pgUrl } : {}) });
    } finally {
      await stop();
    }
  };
  run()
    .then((r) => { process.stdout.write(`${JSON.stringify(r)}\n`); process.exit(0); })
    .catch((err: Error) => { process.stderr.write(`bench/scale: ${err.message}\n`); process.exit(1); });
}
