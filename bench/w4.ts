// W4 (issue 13): a cluster of two controllers on ejabberd + PostgreSQL against one controller on
// ejabberd with the embedded files store, on W1's workload (fan-out of one publisher's items to
// every subscriber through the controller): delivered/s of each and their ratio. Then kill -9 of
// one of the two instances, and the time until the grid answers again (a disco#info ping to the
// controller answered; ejabberd without domain_balancing moves the dead connection's share to
// the live one).  npm run bench -- --only w4 [--quick]
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevGrid, SHIPPED_POLICIES, type DevGrid } from '../src/devgrid/devgrid.js';
import { Fleet } from './fleet.js';
import { BENCH_OU, writeBenchPolicy } from './payloads.js';
import { procMemory, spawnController, type Cleanup, type ControllerProc } from './procs.js';
import { ratio } from './stats.js';
import { log, w1Controller, type Measured, type Params } from './workloads.js';

export interface W4Result {
  single_files: Measured;
  cluster_postgres: Measured & { instances: number; instances_rss_mb: (number | undefined)[] };
  ratio: number | undefined;
  /** kill -9 of one instance → the first disco#info the grid answers, and five in a row. */
  failover: { first_answer_ms: number; steady_ms: number; pings_lost: number };
  balancing: string;
}

async function fleetFor(grid: DevGrid, cleanup: Cleanup, p: Params, subNames: string[]): Promise<Fleet> {
  const files = (name: string) => ({ name, cert: grid.pki.nodes[name]!.cert, key: grid.pki.nodes[name]!.key });
  const fleet = new Fleet({ service: `xmpps://127.0.0.1:${grid.server.ports.c2sTls}`, domain: grid.domain, caFile: grid.pki.ca.cert,
    publisher: files('pub'), subscribers: subNames.map(files), workers: p.workers });
  cleanup.add('clients', () => fleet.close());
  await fleet.connect();
  return fleet;
}

async function answers(fleet: Fleet, controller: string, timeoutMs: number): Promise<boolean> {
  try {
    await fleet.pub.call({ op: 'ping', to: controller, timeoutMs });
    return true;
  } catch {
    return false;
  }
}

async function waitAnswer(fleet: Fleet, controller: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await answers(fleet, controller, 2000))) {
    if (Date.now() > end) throw new Error('the controller did not answer');
  }
}

async function registerAll(fleet: Fleet, controller: string): Promise<void> {
  const states = [...await fleet.pub.call<string[]>({ op: 'register', controller }), ...(await fleet.onSubs<string[]>({ op: 'register', controller })).flat()];
  const bad = states.filter((s) => !s.endsWith(':approved'));
  if (bad.length) throw new Error(`bench nodes not approved: ${bad.slice(0, 3).join(', ')}`);
}

export async function w4(p: Params, cleanup: Cleanup): Promise<W4Result> {
  const policies = mkdtempSync(join(tmpdir(), 'bench-w4-policies-'));
  cleanup.add('w4 policies', () => rmSync(policies, { recursive: true, force: true }));
  cpSync(SHIPPED_POLICIES, policies, { recursive: true });
  writeBenchPolicy(policies, 20_000);
  const subNames = Array.from({ length: p.subscribers }, (_, i) => `sub${String(i).padStart(3, '0')}`);
  const nodes = [...subNames, 'pub'].map((name) => ({ name, OU: BENCH_OU, keyType: 'ec' as const }));

  // One ejabberd for both runs (the fleet stays connected): first one controller with the files
  // store, then two on PostgreSQL — the nodes register and subscribe again on the new store.
  log('W4: one controller on ejabberd with the files store');
  const g2 = await startDevGrid({ server: 'ejabberd', nodes, controller: false, policiesDir: policies, multicastRemoteLimit: 1000 });
  cleanup.add('w4 grid', () => g2.stop());
  const f = await fleetFor(g2, cleanup, p, subNames);
  let single: Measured;
  {
    const ctl = spawnController(g2.cfg);
    const controller = g2.cfg.xmpp.domain;
    await waitAnswer(f, controller);
    await registerAll(f, controller);
    single = await w1Controller(f, p, { controller: ctl.pid, prosody: g2.server.pid }, controller);
    await ctl.stop();
  }

  // Two controllers, PostgreSQL, the same ejabberd settings (no domain_balancing: random over live connections).
  log('W4: two controllers on ejabberd + PostgreSQL');
  const { startPostgres } = await import('../src/devgrid/postgres.js');
  const pgs = await startPostgres();
  cleanup.add('w4 postgres', () => pgs.stop());
  const env = { GRID_STORE_KIND: 'postgres', GRID_STORE_URL: pgs.url };
  const ctls: ControllerProc[] = [0, 1].map((i) => spawnController({ ...g2.cfg, data: join(g2.workDir, `instance${i}`) }, [], env));
  for (const c of ctls) cleanup.add('w4 controller', () => c.stop());
  const controller = g2.cfg.xmpp.domain;
  await waitAnswer(f, controller);
  // Both joined: their heartbeat rows are the proof (each writes its own at start).
  const pg = (await import('pg')).default;
  const db = new pg.Pool({ connectionString: pgs.url, max: 1 });
  db.on('error', () => undefined);
  for (let t = 0; (await db.query('SELECT count(*)::int AS n FROM instances')).rows[0].n < 2; t++) {
    if (t > 600) throw new Error('the second instance did not join');
    await new Promise((r) => setTimeout(r, 100)); // readiness poll of separate processes
  }
  await registerAll(f, controller);
  const m = await w1Controller(f, p, { controller: ctls[0]!.pid, prosody: g2.server.pid }, controller);
  const rss = ctls.map((c) => procMemory(c.pid)?.rss_mb);

  // 3. kill -9 one instance; time until the grid answers again.
  log('W4: kill -9 of one instance');
  const t0 = Date.now();
  ctls[0]!.child.kill('SIGKILL');
  let first = -1;
  let inRow = 0;
  let lost = 0;
  while (inRow < 5) {
    if (await answers(f, controller, 1000)) {
      if (first < 0) first = Date.now() - t0;
      inRow++;
    } else {
      inRow = 0;
      lost++;
    }
    if (Date.now() - t0 > 120_000) throw new Error('the grid did not answer within 120 s of the kill');
  }
  const steady = Date.now() - t0;
  await db.end();
  log(`W4: cluster ${m.delivered_per_s}/s vs single ${single.delivered_per_s}/s; first answer ${first} ms after kill -9`);
  return {
    single_files: single,
    cluster_postgres: { ...m, instances: 2, instances_rss_mb: rss },
    ratio: ratio(m.delivered_per_s, single.delivered_per_s),
    failover: { first_answer_ms: first, steady_ms: steady, pings_lost: lost },
    balancing: 'none (ejabberd spreads over live component connections)',
  };
}
