// Wiring only: config → stores → services → doors → start. Nothing here builds or reads XML.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config/types.js';
import { requireSecret } from './config/load.js';
import { tapAudit, type Logger } from './log.js';
import { acquireLock, openStoreBackend } from './store/index.js';
import { PolicyWatcher, PolicyLoadError, formatPolicyError, matchAutoApprove } from './policy/index.js';
import type { Policy, PolicySubject } from './policy/types.js';
import { TrustWatcher } from './identity/trust-watch.js';
import { verifyRegistration } from './identity/verify.js';
import { AccountService, EMPTY_ACCOUNTS } from './accounts/service.js';
import { RevocationSweep } from './accounts/revocation-sweep.js';
import type { AccountPolicy } from './accounts/types.js';
import { TopicService, EMPTY_TOPICS } from './topics/service.js';
import { ItemService } from './topics/items.js';
import type { ComponentLink } from './xmpp/component.js';
import { xmlCodec } from './xmpp/xml-codec.js';
import type { Outbox } from './xmpp/outbox.js';
import type { Multicast } from './xmpp/multicast.js';
import type { Disco } from './xmpp/handlers/disco.js';
import { buildXmppDoor } from './xmpp/door.js';
import { wireEvents } from './wiring.js';
import { installProtocol } from './xmpp/protocol.js';
import { TemporaryProbe } from './xmpp/temporary-probe.js';
import { startAdmin } from './wiring-admin.js';
import { wireLimits } from './wiring-limits.js';
import { Operations } from './wiring-ops.js';
import { ProcessStats } from './admin/process-stats.js';
import { IdleGc } from './admin/idle-gc.js';
import type { AdvisoryLock } from './store/pg/pool.js';
import { checkStateVersion, ensureDataFormat, StateFormatError } from './state-format.js';
import { packageVersion } from './agent/version.js';
import { BulkGrants } from './topics/bulk.js';
import { RetentionView, RetentionSweep, expireOfTopics } from './topics/retention.js';
import { startDoorsHttps, HttpsStartError, type RunningHttps } from './wiring-https.js';
import { policyDigest } from './admin/status.js';

export interface RunningController {
  readonly link: ComponentLink;
  readonly disco: Disco;
  readonly accounts: AccountService;
  readonly topics: TopicService;
  readonly items: ItemService;
  readonly policy: PolicyWatcher;
  readonly outbox: Outbox;
  readonly multicast: Multicast;
  /** Metrics, last-seen, the status report. */
  readonly ops: Operations;
  /** The HTTPS server (TAXII door), or null when taxii.listen is not set. */
  readonly https: RunningHttps | null;
  /** pubsub#item_expire: deletes expired items every minute (they are hidden at once). */
  readonly retention: RetentionSweep;
  /** After each (re)connect: temporary subscriptions whose resource went away meanwhile end. */
  readonly temporaryProbe: TemporaryProbe;
  /** Revocation of accounts already approved (CRLs, expiry); emits 'swept' after each pass. */
  readonly revocation: RevocationSweep;
  stop(): Promise<void>;
}

export class StartError extends Error {}

export interface StartOptions {
  /** Aborting stops a start that is still waiting for the XMPP server (SIGTERM during start). */
  signal?: AbortSignal;
}

export async function startController(cfg: Config, log: Logger, o: StartOptions = {}): Promise<RunningController> {
  requireSecret(cfg);
  mkdirSync(cfg.data, { recursive: true, mode: 0o700 });
  const lock = acquireLock(cfg.data);
  if ('heldBy' in lock) throw new StartError(`another controller (pid ${lock.heldBy}) runs on data dir ${cfg.data}`);
  const cleanups: (() => Promise<void> | void)[] = [() => lock.release()];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err }, 'cleanup step failed');
      }
    }
  };
  try {
    return await assemble(cfg, log, cleanups, cleanup, o.signal);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function assemble(cfg: Config, rootLog: Logger, cleanups: (() => Promise<void> | void)[], cleanup: () => Promise<void>, signal?: AbortSignal): Promise<RunningController> {
  const ops = new Operations(cfg, rootLog);
  // Every audit event (authorization decisions, registrations) is counted and kept as it is logged.
  const log = tapAudit(rootLog, (event, fields) => ops.audited(event, fields));
  const policy = new PolicyWatcher(cfg.policies, log.child({ mod: 'policy' }));
  try {
    policy.start();
  } catch (err) {
    if (err instanceof PolicyLoadError) throw new StartError(`policy files in ${cfg.policies} are invalid: ${err.errors.map(formatPolicyError).join('; ')}`);
    throw err;
  }
  cleanups.push(() => policy.stop());
  const trustWatch = new TrustWatcher(cfg.trust, log.child({ mod: 'trust' }));
  try {
    trustWatch.start();
  } catch (err) {
    throw new StartError(`trust configuration: ${(err as Error).message}`);
  }
  cleanups.push(() => trustWatch.stop());
  for (const w of trustWatch.current().warnings) log.warn({ trust: w }, 'trust warning');

  try {
    const f = await ensureDataFormat(cfg.data, packageVersion());
    if (f.migrated.length) log.warn({ data: cfg.data, migrated_to: f.migrated }, 'data folder migrated');
  } catch (err) {
    if (err instanceof StateFormatError) throw new StartError(err.message);
    throw err;
  }
  // store.kind picks the backend (src/store/open.ts); closed after the stores it opened.
  const stores = await openStoreBackend(cfg, log);
  cleanups.push(() => stores.close());
  const accountStore = await stores.control('accounts', EMPTY_ACCOUNTS);
  cleanups.push(() => accountStore.close());
  const topicStore = await stores.control('topics', EMPTY_TOPICS);
  cleanups.push(() => topicStore.close());
  try {
    checkStateVersion(stores.where('accounts'), accountStore.data, EMPTY_ACCOUNTS.version);
    checkStateVersion(stores.where('topics'), topicStore.data, EMPTY_TOPICS.version);
  } catch (err) {
    throw new StartError((err as Error).message);
  }
  const storedItems = await stores.items({ onFsync: (sec) => ops.sink.fsync(sec) });
  cleanups.push(() => storedItems.close());
  // pubsub#item_expire: no reader (either door) sees an expired item; the sweep deletes them.
  const itemStore = new RetentionView(storedItems, expireOfTopics((name) => topics.topic(name)));

  const accounts = new AccountService({
    store: accountStore, policy: accountPolicy(() => policy.current()), trust: () => trustWatch.current(), verify: verifyRegistration, log: log.child({ mod: 'accounts' }),
    // A cluster (§14): a challenge one instance issues may be submitted to another.
    ...(stores.shared ? { challenges: stores.shared.challenges(), sync: () => stores.shared!.feed.sync() } : {}),
  });
  const subjectOf = (bare: string): PolicySubject | null => accounts.subject(bare);
  const l = cfg.limits;
  const shared = stores.shared;
  // A cluster: catch up with the other instances (sync) and take turns with them on `lock` (exclusive).
  const turns = (lock: AdvisoryLock) => (shared ? { sync: () => shared.feed.sync(), exclusive: <R>(fn: () => Promise<R>) => shared.exclusive(lock, fn) } : {});
  const topics = new TopicService({
    ...turns('policy-recheck'),
    store: topicStore, policy: () => policy.current(), subject: subjectOf, log: log.child({ mod: 'topics' }),
    limits: {
      subscriptionsPerAccount: l.subscriptions_per_account, subtopicsPerTopic: l.subtopics_per_topic, topicsPerAccount: l.topics_per_account,
      maxItems: l.max_items, filter: { values: l.filter_values, bytes: l.filter_bytes },
    },
  });
  await topics.applyDeclaredTopics(policy.current().topics);
  const approvedUntil = (bare: string): number => {
    const a = accounts.get(bare);
    return a ? Date.parse(a.cert.notAfter) : 0;
  };
  const items = new ItemService({ topics, items: itemStore, subject: subjectOf, approvedUntil, payloadLimit: () => cfg.limits.payload_bytes, xml: xmlCodec, log: log.child({ mod: 'items' }),
    ...(shared ? { beforeRead: () => shared.feed.sync() } : {}) });

  const { router, disco, link, outbox, multicast } = buildXmppDoor(cfg, accounts, ops.sink, log);
  if (shared) router.setSync(() => shared.feed.sync());
  const limits = wireLimits({ router, accounts, policy, outbox, domain: cfg.xmpp.domain, log: log.child({ mod: 'limits' }) });
  cleanups.push(() => limits.stop());
  const proc = new ProcessStats();
  cleanups.push(() => proc.stop());
  // A burst's heap is given back once the grid is quiet again (issue 16, flood.rss_recovered).
  const idleGc = cfg.memory.idle_gc ? new IdleGc({ log: log.child({ mod: 'memory' }) }) : undefined;
  idleGc?.start();
  cleanups.push(() => idleGc?.stop());
  const processStats = () => ({ ...proc.read(), ...(idleGc ? { idle_gc: { ...idleGc.figures } } : {}) });
  const limitStats = () => ({ ...limits.limiter.counters, requests_active: limits.queue.load.active, requests_queued: limits.queue.load.queued });
  const bulk = new BulkGrants(topics, log.child({ mod: 'bulk' }));
  installProtocol({ router, disco, accounts, topics, items, policy, subjectOf, domain: cfg.xmpp.domain, outbox, multicast, itemStore, limitStats, processStats, metrics: ops.sink, log, bulk });
  const retention = new RetentionSweep({ items: itemStore, topics, log: log.child({ mod: 'retention' }) });
  retention.start();
  cleanups.push(() => retention.stop());
  const temporaryProbe = new TemporaryProbe({ link, topics, domain: cfg.xmpp.domain, log: log.child({ mod: 'temporary-probe' }) });
  // A cluster: every instance sees the CRLs and the clock; their sweeps take turns and catch up
  // first, so each revocation is decided and announced once.
  const sweep = new RevocationSweep({
    accounts, trust: () => trustWatch.current(), log: log.child({ mod: 'revocation' }),
    ...turns('revocation-sweep'),
  });
  cleanups.push(() => sweep.stop());
  wireEvents({ accounts, topics, items, policy, trust: trustWatch, sweep, events: items.events, metrics: ops.sink, subjectOf, log });
  const status = ops.attach({ link, accounts, topics, itemStore, policy, outbox, multicast, limits });
  let cluster: { beatNow(): Promise<void> } | undefined;
  if (stores.shared) {
    // PostgreSQL: this instance follows the others' changes and shows in `status` (src/cluster/).
    const { Cluster } = await import('./cluster/index.js');
    const c = new Cluster({ shared: stores.shared, topics, invalidate: () => items.invalidate(), xmppOnline: () => link.online, policyDigest: () => policyDigest(policy.current()), log: log.child({ mod: 'cluster' }) });
    await c.start();
    cleanups.push(() => c.stop());
    status.section('cluster', () => c.status());
    cluster = c;
  }
  // The admin socket and the metrics endpoint come up before the link, so that `status` and
  // /healthz answer (link down) while the XMPP server is not reachable yet.
  const admin = await startAdmin({ cfg, accounts, topics, policy, log, outbox, multicast, itemStore, seen: ops.seen, status, limitStats, processStats });
  cleanups.push(() => admin.close());
  await ops.startServer();
  cleanups.push(() => ops.close());
  const https = await startDoorsHttps(cfg, {
    accounts, topics, items, itemStore, bulk, trust: () => trustWatch.current(), log: log.child({ mod: 'https' }), limiter: limits.limiter,
    console: { itemStore, seen: ops.seen, status: () => status.report(), audit: ops.audit },
  }).catch((err: unknown) => {
    throw err instanceof HttpsStartError ? new StartError(err.message) : err;
  });
  if (https) {
    cleanups.push(() => https.close());
    ops.taxiiUrl = `${cfg.taxii.public_url || https.url}/taxii2/`;
  }
  cleanups.push(() => link.stop());
  const abort = () => void link.stop();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    if (signal?.aborted) throw new StartError('stopped before the start completed');
    await link.start();
  } finally {
    signal?.removeEventListener('abort', abort);
  }
  cleanups.push(() => outbox.drain());
  await cluster?.beatNow();
  // Certificates revoked or expired while the controller was stopped: their accounts go now.
  await sweep.sweep('start');

  let stopped = false;
  return {
    link, disco, accounts, topics, items, policy, outbox, multicast, ops, https, retention, temporaryProbe, revocation: sweep,
    async stop() {
      if (stopped) return;
      stopped = true;
      await cleanup();
      log.info('controller stopped');
    },
  };
}

function accountPolicy(current: () => Policy): AccountPolicy {
  return {
    autoApprove: (req) => {
      const e = matchAutoApprove(current(), req);
      return e ? { id: e.id, groups: e.groups } : null;
    },
    declaredGroups: () => Object.keys(current().groups),
    admins: () => current().admins,
  };
}
