// The benchmark (issue "The demo grid, and the benchmark against Prosody's own pubsub"):
//   npm run bench [-- --quick] [-- --profile] [-- --workers N] [-- --server prosody|ejabberd]
// W0 the server's client→client routing ceiling, W1 fan-out through the controller and through
// the server's own mod_pubsub (Prosody's or ejabberd's), W2 filtered fan-out, W3 state at grid scale. Table on stdout,
// bench/results/latest.json, progress on stderr. Stops everything it started, also on Ctrl-C.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { startDevGrid, SHIPPED_POLICIES, type DevGrid } from '../src/devgrid/devgrid.js';
import { ATTACK_ICS_FILE } from '../src/devgrid/data-files.js';
import { Fleet } from './fleet.js';
import { BENCH_OU, FLOOD_OU, writeBenchPolicy } from './payloads.js';
import { floodWorkload } from './flood.js';
import { Cleanup, procMemory, spawnController, type ControllerProc } from './procs.js';
import { parseServerKind, profileOf } from '../src/devgrid/server-profile.js';
import { ratio } from './stats.js';
import { topFunctions } from './profile.js';
import { log, steady, w0, w1Controller, w1ModPubsub, w2, w3Core, w3Scale, type Params } from './workloads.js';
import { goalLines, withServerSuffix } from './goals.js';
import { buildTable } from './table.js';
import { adminRequest } from '../src/admin/client.js';
import { taxiiWorkload } from './taxii.js';
import { w4 } from './w4.js';

const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));

/** What `--only` accepts (w1 = w1c + w1m + w1mem). */
const WORKLOADS = ['w0', 'w1', 'w1c', 'w1m', 'w1mem', 'steady', 'w2', 'flood', 'w3', 'taxii', 'w4'];

const HELP = `npm run bench [-- options]

Measures the controller on a real grid it starts itself (certificates, the XMPP server, the
controller, client processes) and stops everything afterwards, also on Ctrl-C. Prints a table
and each goal with its target; writes bench/results/latest.json. Progress goes to stderr.

Options:
  --quick              the small workload (50 subscribers, short runs): minutes, not ~20
  --server S           prosody (default) or ejabberd
  --only LIST          comma-separated workloads; the others keep their figures from the last
                       run in latest.json. Known: w0 (client->client ceiling), w1 (= w1c
                       controller, w1m mod_pubsub as shipped, w1mem mod_pubsub in memory),
                       steady (fixed rate at 50 % of W0; runs W0 first), w2 (filtered fan-out),
                       flood (one node floods, another is timed), w3 (state at grid scale, both
                       stores), taxii (the TAXII door alone), w4 (two controllers on PostgreSQL)
  --skip-w3            leave out W3
  --workers N          client processes for the subscribers (default 2)
  --profile            CPU profile of the controller into bench/results/profile/
  -h, --help           this text

See bench/README.md for what each workload measures and the figures on record.
`;

function params(quick: boolean, workers: number): Params {
  const icsFile = ATTACK_ICS_FILE;
  return quick
    ? { subscribers: 50, workers, w0Rounds: 200, w1Items: 500, w2Items: 61, steadySeconds: 15, window: 50, icsFile, decisions: 200_000, registrations: 200,
      flood: { seconds: 8, settleS: 15, window: 100, intervalMs: 20 },
      w3: { accounts: 1000, topics: 100, subtopics: 500, sequential: 30 }, pubsubPersistItems: 300 }
    : { subscribers: 100, workers, w0Rounds: 1000, w1Items: 10_000, w2Items: 122, steadySeconds: 60, window: 50, icsFile, decisions: 1_000_000, registrations: 2000,
      flood: { seconds: 30, settleS: 60, window: 100, intervalMs: 20 },
      w3: { accounts: 10_000, topics: 1000, subtopics: 5000, sequential: 200 }, pubsubPersistItems: 1000 };
}

async function waitController(fleet: Fleet, jid: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fleet.pub.call({ op: 'ping', to: jid, timeoutMs: 2000 });
      return;
    } catch (err) {
      if (Date.now() > end) throw new Error(`the controller did not answer disco#info within ${timeoutMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250)); // readiness poll of a separate process
    }
  }
}

function startCtl(cleanup: Cleanup, cfg: DevGrid['cfg'], profDir?: string): ControllerProc {
  const ctl = spawnController(cfg, profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []);
  cleanup.add('controller', () => ctl.stop());
  return ctl;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, profile: { type: 'boolean' }, workers: { type: 'string' }, 'skip-w3': { type: 'boolean' },
    only: { type: 'string' }, server: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  let server;
  try {
    server = parseServerKind(values.server ?? 'prosody');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const profile = profileOf(server);
  const quick = !!values.quick;
  const workers = Number(values.workers ?? 2);
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`--workers takes a whole number of processes (1 or more), not '${values.workers}'`);
  const p = params(quick, workers);
  if (values.only) {
    p.only = new Set(values.only.split(',').map((w) => w.trim()).filter(Boolean));
    const unknown = [...p.only].filter((w) => !WORKLOADS.includes(w));
    // A typo would otherwise run nothing and still write latest.json.
    if (unknown.length || !p.only.size) throw new UsageError(`--only: unknown workload ${unknown.map((w) => `'${w}'`).join(', ') || '(none given)'}; known: ${WORKLOADS.join(', ')}`);
  }
  const want = (w: string) => !p.only || p.only.has(w);
  const cleanup = new Cleanup();
  cleanup.installSignalHandlers();
  const results: Record<string, unknown> = {};
  const taxiiParams = quick ? { objects: 20_000, pageSize: 1000, postEnvelopes: 50 } : { objects: 100_000, pageSize: 1000, postEnvelopes: 200 };
  try {
    if (p.only && [...p.only].every((w) => w === 'taxii' || w === 'w4')) {
      // The TAXII door alone: no XMPP fleet needed. W4 (issue 13) brings its own grids (bench/w4.ts).
      if (p.only.has('taxii')) results.taxii = await taxiiWorkload(taxiiParams);
      if (p.only.has('w4')) results.w4 = await w4(p, cleanup);
      // Merged into the last full run's file (its other workloads stay), so `--only taxii` adds to it.
      let prev: Record<string, unknown> = {};
      try {
        prev = JSON.parse(readFileSync(join(RESULTS, 'latest.json'), 'utf8')) as Record<string, unknown>;
      } catch {
        prev = { meta: { date: new Date().toISOString(), quick, cpus: cpus().length, cpu_model: cpus()[0]?.model, node: process.version } };
      }
      const out = { ...prev, ...results, ...Object.fromEntries([...p.only].map((w) => [`${w}_meta`, { date: new Date().toISOString(), quick }])) };
      mkdirSync(RESULTS, { recursive: true });
      writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(out, null, 2)}\n`);
      process.stdout.write(buildTable(out));
      process.stdout.write(`\nwritten: bench/results/latest.json\n`);
      return;
    }
    const policies = mkdtempSync(join(tmpdir(), 'bench-policies-'));
    cleanup.add('policies', () => rmSync(policies, { recursive: true, force: true }));
    cpSync(SHIPPED_POLICIES, policies, { recursive: true });
    writeBenchPolicy(policies, 20_000);
    const subNames = Array.from({ length: p.subscribers }, (_, i) => `sub${String(i).padStart(3, '0')}`);
    log(`issuing ${subNames.length + 1} node certificates, starting ${profile.name}`);
    // ejabberd as the README configures it: mod_multicast takes up to 1000 addresses from the controller.
    const grid = await startDevGrid({ server: profile.kind, nodes: [...[...subNames, 'pub'].map((name) => ({ name, OU: BENCH_OU, keyType: 'ec' as const })), { name: 'flood', OU: FLOOD_OU, keyType: 'ec' as const }], controller: false, policiesDir: policies,
      pubsubAdmins: [`pub@grid.test`], ...(profile.kind === 'ejabberd' ? { multicastRemoteLimit: 1000 } : {}) });
    cleanup.add('grid', () => grid.stop());
    const profDir = values.profile ? join(RESULTS, 'profile') : undefined;
    if (profDir) { rmSync(profDir, { recursive: true, force: true }); mkdirSync(profDir, { recursive: true }); }
    const ctl = startCtl(cleanup, grid.cfg, profDir);
    const files = (name: string) => ({ name, cert: grid.pki.nodes[name]!.cert, key: grid.pki.nodes[name]!.key });
    const fleet = new Fleet({ service: `xmpps://127.0.0.1:${grid.server.ports.c2sTls}`, domain: grid.domain, caFile: grid.pki.ca.cert,
      publisher: files('pub'), subscribers: subNames.map(files), workers: p.workers });
    cleanup.add('clients', () => fleet.close());
    log(`connecting ${p.subscribers} subscribers over ${p.workers} processes + 1 publisher`);
    await fleet.connect();
    const controller = grid.cfg.xmpp.domain;
    await waitController(fleet, controller);
    const states = [...await fleet.pub.call<string[]>({ op: 'register', controller }), ...(await fleet.onSubs<string[]>({ op: 'register', controller })).flat()];
    const notApproved = states.filter((s) => !s.endsWith(':approved'));
    if (notApproved.length) throw new Error(`bench nodes not approved on registration: ${notApproved.slice(0, 3).join(', ')}`);
    const pids = { controller: ctl.pid, prosody: grid.server.pid };
    const idle = procMemory(ctl.pid);

    // The steady workload's rate is half of W0's ceiling: W0 runs whenever steady does.
    const r0 = want('w0') || want('steady') ? await w0(fleet, p, pids) : undefined;
    const r1c = want('w1') || want('w1c') ? await w1Controller(fleet, p, pids, controller) : undefined;
    const pubsubJid = grid.server.pubsubJid ?? `pubsub.${grid.domain}`;
    const r1m = want('w1') || want('w1m') ? await w1ModPubsub(fleet, p, pids, pubsubJid, true) : undefined;
    const r1mem = want('w1') || want('w1mem') ? await w1ModPubsub(fleet, p, pids, pubsubJid, false) : undefined;
    // Steady before W2: W2's unfiltered mod_pubsub run leaves the server a backlog to work off.
    // The controller's own event-loop delay and GC pauses over the steady run (a window of
    // `stats`): a late delivery with a quiet loop was held up in the server, not here.
    const processNow = async () => {
      const st = await adminRequest(grid.cfg.admin.socket, 'stats', {});
      return st.ok ? (st.result as { process?: unknown }).process : undefined;
    };
    let rs: Awaited<ReturnType<typeof steady>> & { controller_process?: unknown } | undefined;
    if (want('steady') && r0) {
      await processNow();
      rs = await steady(fleet, p, pids, controller, r0.delivered_per_s);
      rs.controller_process = await processNow();
    }
    const r2 = want('w2') ? await w2(fleet, p, pids, controller, pubsubJid) : undefined;
    const rf = want('flood') ? await floodWorkload({ fleet, files: files('flood'), service: `xmpps://127.0.0.1:${grid.prosody.ports.c2sTls}`, domain: grid.domain, caFile: grid.pki.ca.cert,
      controller, ctlPid: ctl.pid, prosodyPid: grid.prosody.pid, adminSocket: grid.cfg.admin.socket, cleanup, p: p.flood, log }) : undefined;
    const ctlMem = procMemory(ctl.pid);
    const stats = await adminRequest(grid.cfg.admin.socket, 'stats', {});
    await ctl.stop();
    results.w0 = r0;
    if (r1c || r1m || r1mem) results.w1 = {
      controller: r1c, mod_pubsub: r1m, mod_pubsub_memory: r1mem,
      ratio: ratio(r1c?.delivered_per_s, r1m?.delivered_per_s), ratio_vs_memory: ratio(r1c?.delivered_per_s, r1mem?.delivered_per_s),
      mod_pubsub_memory_fraction_of_w0: ratio(r1mem?.delivered_per_s, r0?.delivered_per_s),
      controller_fraction_of_w0: ratio(r1c?.delivered_per_s, r0?.delivered_per_s), mod_pubsub_fraction_of_w0: ratio(r1m?.delivered_per_s, r0?.delivered_per_s),
    };
    results.w2 = r2;
    results.steady = rs;
    results.flood = rf;
    results.controller_process = { idle: idle, after_w2: ctlMem, stats: stats.ok ? stats.result : { error: stats.error } };
    if (profDir) {
      const prof = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (prof) results.profile = { file: join('bench/results/profile', prof), ...topFunctions(join(profDir, prof), 20) };
    }

    if (!values['skip-w3'] && want('w3')) {
      log(`W3: ${p.w3.accounts} accounts, ${p.w3.topics} topics, ${p.w3.subtopics} subtopics (scale child)`);
      const dir = join(grid.workDir, 'w3');
      const scale = await w3Scale(dir, p);
      // The same start on an empty data dir first: what start-up costs without the state (node,
      // modules, the server's handshake), measured the same way, so the state's share shows.
      const emptyDir = join(grid.workDir, 'w3-empty');
      mkdirSync(join(emptyDir, 'var'), { recursive: true, mode: 0o700 });
      const se = performance.now();
      const ctlEmpty = startCtl(cleanup, { ...grid.cfg, data: join(emptyDir, 'var'), policies: join(dir, 'policies') });
      await waitController(fleet, controller, 120_000);
      const startupEmpty = +((performance.now() - se) / 1000).toFixed(2);
      await ctlEmpty.stop();
      log(`W3: state built in ${scale.build_s} s; starting a controller on it`);
      const s3 = performance.now();
      const ctl3 = startCtl(cleanup, { ...grid.cfg, data: join(dir, 'var'), policies: join(dir, 'policies') });
      await waitController(fleet, controller, 120_000);
      const startup3 = +((performance.now() - s3) / 1000).toFixed(2);
      const mem3 = procMemory(ctl3.pid);
      await ctl3.stop();
      log('W3: policy decisions and registrations');
      const core = await w3Core(p);
      results.w3 = {
        rss_mb: mem3?.rss_mb, hwm_mb: mem3?.hwm_mb, rss_source: 'grid-controller start on the W3 data dir, once it answers disco#info',
        core_process: { rss_mb: scale.rss_mb, hwm_mb: scale.hwm_mb, baseline_rss_mb: scale.baseline_rss_mb, heap_used_mb: scale.heap_used_mb },
        accounts: scale.accounts, topics: scale.topics, subtopics: scale.subtopics, subscriptions: scale.subscriptions,
        subscribe_p50_ms: scale.subscribe_p50_ms, subscribe_p99_ms: scale.subscribe_p99_ms, subscribe_sequential_calls: scale.subscribe_sequential_calls,
        subscribe_concurrent_p99_ms: scale.subscribe_concurrent_p99_ms, subscribe_concurrency: scale.subscribe_concurrency, ...core,
        store: scale.store, build_s: scale.build_s, stores_reopen_s: scale.reopen_s, startup_s: startup3, startup_empty_s: startupEmpty, startup_source: 'grid-controller start until it answers disco#info (polled every 250 ms)',
        subscribe_concurrent_p50_ms: scale.subscribe_concurrent_p50_ms, subscribe_concurrent_max_ms: scale.subscribe_concurrent_max_ms,
        conditions: scale.conditions,
      };
      log('W3 on PostgreSQL: the same state built on a PostgreSQL of its own (scale child), then a controller started on it');
      const { startPostgres } = await import('../test/helpers/postgres.js');
      const server = await startPostgres();
      cleanup.add('postgres', () => server.stop());
      const pgDir = join(grid.workDir, 'w3-pg');
      const pg = await w3Scale(pgDir, p, 'postgres', server.url);
      const sp = performance.now();
      const ctlPg = spawnController({ ...grid.cfg, data: join(pgDir, 'var'), policies: join(pgDir, 'policies') }, [], { GRID_STORE_KIND: 'postgres', GRID_STORE_URL: server.url });
      cleanup.add('controller-pg', () => ctlPg.stop());
      await waitController(fleet, controller, 120_000);
      const startupPg = +((performance.now() - sp) / 1000).toFixed(2);
      const memPg = procMemory(ctlPg.pid);
      await ctlPg.stop();
      await server.stop();
      results.w3_postgres = {
        store: pg.store, accounts: pg.accounts, topics: pg.topics, subtopics: pg.subtopics, subscriptions: pg.subscriptions,
        rss_mb: memPg?.rss_mb, hwm_mb: memPg?.hwm_mb, rss_source: 'grid-controller start (store.kind postgres) on the W3 state, once it answers disco#info',
        core_process: { rss_mb: pg.rss_mb, hwm_mb: pg.hwm_mb, baseline_rss_mb: pg.baseline_rss_mb, heap_used_mb: pg.heap_used_mb },
        subscribe_p50_ms: pg.subscribe_p50_ms, subscribe_p99_ms: pg.subscribe_p99_ms, subscribe_sequential_calls: pg.subscribe_sequential_calls,
        subscribe_concurrent_p50_ms: pg.subscribe_concurrent_p50_ms, subscribe_concurrent_p99_ms: pg.subscribe_concurrent_p99_ms, subscribe_concurrent_max_ms: pg.subscribe_concurrent_max_ms,
        subscribe_concurrency: pg.subscribe_concurrency, build_s: pg.build_s, stores_reopen_s: pg.reopen_s, startup_s: startupPg, conditions: pg.conditions,
      };
    }
    if (want('taxii')) {
      log('TAXII: objects GET in pages and envelope POST over the HTTPS door');
      results.taxii = await taxiiWorkload(taxiiParams);
    }
    const run = {
      meta: {
        date: new Date().toISOString(), quick, cpus: cpus().length, cpu_model: cpus()[0]?.model, node: process.version, server: profile.kind, server_name: profile.name, server_version: profile.version(),
        subscribers: p.subscribers, client_processes: p.workers + 1, window: p.window, w0_rounds: p.w0Rounds, w1_items: p.w1Items, w2_items: p.w2Items,
      },
      ...results,
    };
    // Another server's figures (w1_ejabberd, steady_ejabberd, …) from an earlier run stay in the file.
    let prev: Record<string, unknown> = {};
    try { prev = JSON.parse(readFileSync(join(RESULTS, 'latest.json'), 'utf8')) as Record<string, unknown>; } catch { /* first run */ }
    const out = withServerSuffix(prev, run, profile.kind);
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(out, null, 2)}\n`);
    process.stdout.write(buildTable(run));
    process.stdout.write(goalLines(out));
    process.stdout.write(`\nwritten: bench/results/latest.json\n`);
  } finally {
    await cleanup.run();
  }
}

/** A mistake on the command line: its message and a pointer to --help, no stack. */
class UsageError extends Error {}

main().then(() => process.exit(0), (err: Error) => {
  if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    process.stderr.write(`bench: ${err.message} (npm run bench -- --help)\n`);
    process.exit(2);
  }
  process.stderr.write(`bench: FAILED: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
