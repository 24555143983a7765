// The demo grid from start to end: a real XMPP server (Prosody or ejabberd) and the controller with the shipped
// policies, a sandbox provider and SOC/partner consumers registering, ATT&CK for ICS replayed
// through the grid, and a summary. Everything it starts is stopped before it returns.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pino } from 'pino';
import type { GridClient } from '../agent/index.js';
import { createLogger } from '../log.js';
import { startDevGrid, type DevGrid } from './devgrid.js';
import { profileOf } from './server-profile.js';
import type { DemoOptions, DemoSummary } from './demo-types.js';
import { ATTACK_ICS_FILE, loadStixObjects, packBundles, type Packed } from './demo-data.js';
import { REPO_ROOT } from './data-files.js';
import { stringify as toYaml } from 'yaml';
import { AbortError, DEMO_TOPIC, pkiNodes } from './demo-nodes.js';
import { Screen, seconds } from './demo-screen.js';
import { registerAll, subscribeAll } from './demo-steps.js';
import { drain, replay } from './demo-replay.js';
import { printSummary } from './demo-summary.js';
import { taxiiStep } from './demo-taxii.js';

export const DEFAULT_WORK_DIR = join(REPO_ROOT, 'var', 'demo');

/** Fresh data each run; the dev CA in certs/ is kept (certificates issued before stay valid). */
function prepareWorkDir(workDir: string): void {
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const pidFile = join(workDir, 'demo.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (pid && pid !== process.pid && alive(pid)) {
      throw new Error(`another demo (pid ${pid}) is running on ${workDir}: stop it with Ctrl-C, or pass --work-dir DIR`);
    }
  }
  writeFileSync(pidFile, String(process.pid));
  for (const p of ['var', 'policies', 'controller.log']) rmSync(join(workDir, p), { recursive: true, force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function shortPath(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}

export async function runDemo(o: DemoOptions = {}): Promise<DemoSummary> {
  const t0 = Date.now();
  const screen = new Screen(o.out ?? process.stdout, { ...(o.color !== undefined ? { color: o.color } : {}), quiet: o.quiet ?? false });
  const workDir = resolve(o.workDir ?? DEFAULT_WORK_DIR);
  const dataFile = o.dataFile ?? ATTACK_ICS_FILE;
  const packed = packBundles(loadStixObjects(dataFile), o.bundleSize ?? 30, o.bundles ?? Infinity);
  prepareWorkDir(workDir);
  const logFile = join(workDir, 'controller.log');
  // Synchronous file destination: every line is on disk even when the demo is interrupted.
  const log = createLogger({ level: 'info', destination: pino.destination({ dest: logFile, sync: true }) });

  screen.line(screen.paint('XMPP-Grid demo', 'bold') + ` — a real ${profileOf(o.server).name} and the controller on 127.0.0.1, policies from policies/`);
  screen.line(screen.paint(`  work dir ${shortPath(workDir)} · controller log ${shortPath(logFile)} (pino JSON; audit lines have "audit")`, 'dim'));
  let grid: DevGrid;
  try {
    grid = await startDevGrid({ nodes: pkiNodes(), log, keep: true, workDir, taxii: {}, ...(o.server ? { server: o.server } : {}) });
  } catch (err) {
    rmSync(join(workDir, 'demo.pid'), { force: true });
    throw new Error(`the grid did not start: ${(err as Error).message} (details in ${shortPath(logFile)})`);
  }
  const controllerConfig = writeControllerConfig(grid);
  screen.line(screen.paint(`  live data ${shortPath(grid.cfg.data)} · policies ${shortPath(grid.cfg.policies)} · ` +
    `point the CLI at them: grid-controller accounts list --config ${shortPath(controllerConfig)}`, 'dim'));
  const clients: GridClient[] = [];
  const summary: DemoSummary = {
    registrations: [], topic: DEMO_TOPIC, subtopicsAnnounced: [], published: { items: 0, objects: 0, byType: {}, byTlp: {} },
    skipped: packed.skipped.map((s) => s.id), consumers: [], replayMs: 0, totalMs: 0, workDir, serverPid: grid.server.pid, aborted: false,
  };
  try {
    await runSteps(grid, screen, packed, clients, summary, o);
  } catch (err) {
    if (!(err instanceof AbortError) && !o.signal?.aborted) throw err;
    summary.aborted = true;
    screen.always();
    screen.warn('stopped by Ctrl-C; stopping everything the demo started');
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await grid.stop();
    rmSync(join(workDir, 'demo.pid'), { force: true });
  }
  summary.totalMs = Date.now() - t0;
  screen.line(screen.paint(`stopped: ${clients.length} nodes, the controller, ${grid.profile.name} (pid ${grid.server.pid}); ` +
    `certificates and data kept in ${shortPath(workDir)}; total ${seconds(summary.totalMs)}`, 'dim'));
  screen.line(screen.paint(`  the demo's state: grid-controller accounts list --config ${shortPath(controllerConfig)} ` +
    `(data ${shortPath(grid.cfg.data)}, policies ${shortPath(grid.cfg.policies)})`, 'dim'));
  return summary;
}

/**
 * <workDir>/controller.yaml: the demo controller's settings, so `grid-controller … --config`
 * reads and changes the demo's data and policies (not the default var/ and policies/).
 * It holds the demo's component secret: owner-only, like the rest of the work dir.
 */
function writeControllerConfig(grid: DevGrid): string {
  const file = join(grid.workDir, 'controller.yaml');
  const c = grid.cfg;
  const doc = {
    xmpp: { service: c.xmpp.service, domain: c.xmpp.domain, secret: c.xmpp.secret },
    trust: { ca: c.trust.ca },
    policies: c.policies,
    data: c.data,
    admin: { socket: c.admin.socket },
  };
  writeFileSync(file, `# Written by the demo (scripts/demo.sh) for grid-controller --config; rewritten each run.\n${toYaml(doc)}`, { mode: 0o600 });
  return file;
}

async function runSteps(grid: DevGrid, screen: Screen, packed: Packed, clients: GridClient[], summary: DemoSummary, o: DemoOptions): Promise<void> {
  const signal = o.signal;
  const topics = grid.controller!.topics.allTopics().map((t) => t.name).join(', ');
  screen.ok(`dev PKI: CA "Grid Dev CA" in ${shortPath(grid.pki.outDir)}, node certificates for ${Object.keys(grid.pki.nodes).join(', ')}`);
  screen.ok(`${grid.profile.name} (pid ${grid.server.pid}): c2s direct TLS 127.0.0.1:${grid.server.ports.c2sTls}, STARTTLS :${grid.server.ports.c2s}, component :${grid.server.ports.component}`);
  screen.ok(`controller ${grid.cfg.xmpp.domain} connected; topics from the policy: ${topics}`);

  const nodes = await registerAll(grid, screen, clients, summary, signal);
  const receivers = await subscribeAll(grid, screen, nodes, summary, signal);
  const t = Date.now();
  await replay(screen, nodes.provider, receivers, packed, summary, o);
  await drain(screen, receivers, summary, signal);
  summary.replayMs = Date.now() - t;
  printSummary(screen, summary, packed);
  await taxiiStep(grid, screen, receivers, summary);
  if (o.stay) await stay(grid, screen, signal);
}

/** --stay: the grid keeps running for nodes a person connects, until Ctrl-C. */
async function stay(grid: DevGrid, screen: Screen, signal?: AbortSignal): Promise<void> {
  const conf = join(grid.workDir, 'guest1.yaml');
  const g = grid.pki.nodes.guest1!;
  writeFileSync(conf, [`service: xmpps://127.0.0.1:${grid.server.ports.c2sTls}`, `domain: ${grid.domain}`,
    `cert: ${g.cert}`, `key: ${g.key}`, `ca: ${grid.pki.ca.cert}`, ''].join('\n'));
  const cli = `node ${shortPath(join(REPO_ROOT, 'dist/src/agent/cli/grid-node.js'))}`;
  screen.always();
  screen.always(screen.paint('The grid stays up. Connect another node (certificate guest1, OU soc: approved automatically):', 'bold'));
  screen.always(`  ${cli} register --config ${shortPath(conf)} --wait`);
  screen.always(`  ${cli} subscribe ${DEMO_TOPIC} --config ${shortPath(conf)} --filter type=malware`);
  screen.always(`  ${cli} query ${DEMO_TOPIC} --config ${shortPath(conf)} --filter type=attack-pattern --limit 3`);
  screen.always(`  (guest2 is a second certificate, OU malware-lab.) Ctrl-C stops everything.`);
  await new Promise<void>((resolve) => {
    if (!signal || signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
