// Starts and stops a throwaway Prosody 0.12 for tests and demos: generated config, loopback
// ports, client-certificate login (mod_auth_ccert), the controller as an XEP-0114 component.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderProsodyConfig } from './prosody-config.js';
import { freePorts, waitForPorts } from './ports.js';
import { portFailureInLog, probeTlsCert, probeXmppStream } from './probe.js';
import type { ProsodyConfigInput, ProsodyHandle, ProsodyOptions, ProsodyPorts } from './types.js';

/** Where Debian's prosody-modules may have put mod_auth_ccert. */
/** The project's own Prosody modules (mod_grid_multicast). */
export const GRID_PROSODY_MODULES = fileURLToPath(new URL('../../../src/prosody/', import.meta.url));
const PLUGIN_DIRS = ['/usr/lib/prosody/modules', '/usr/share/prosody-modules', '/usr/local/lib/prosody/modules'];
const STOP_GRACE_MS = 5000;

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Nothing may outlive the test run: kill every Prosody we started when node exits. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export function findCcertPluginDir(dirs: string[] = PLUGIN_DIRS): string | undefined {
  return dirs.find((d) => existsSync(join(d, 'mod_auth_ccert', 'mod_auth_ccert.lua')) || existsSync(join(d, 'mod_auth_ccert.lua')));
}

/** Last lines of a log file, for error messages (never the whole file). */
export function logTail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Every port is Prosody's own: it speaks XMPP (and TLS with our certificate). */
async function confirmListeners(c: ProsodyConfigInput): Promise<void> {
  const [c2s, tls, comp] = await Promise.all([
    probeXmppStream(c.ports.c2s, c.domain, 'jabber:client'),
    probeTlsCert(c.ports.c2sTls, c.domain, c.certFile),
    probeXmppStream(c.ports.component, c.componentJid, 'jabber:component:accept'),
  ]);
  const wrong = [!c2s && `c2s ${c.ports.c2s}`, !tls && `c2s direct TLS ${c.ports.c2sTls}`, !comp && `component ${c.ports.component}`];
  const names = wrong.filter(Boolean);
  if (names.length) throw new Error(`not Prosody's listener on port(s): ${names.join(', ')} (another process holds them?)`);
  const failure = portFailureInLog(readLog(c.logFile));
  if (failure) throw new Error(failure);
}

async function resolvePorts(given: Partial<ProsodyPorts> = {}): Promise<ProsodyPorts> {
  const free = await freePorts(3);
  return { c2s: given.c2s ?? free[0]!, c2sTls: given.c2sTls ?? free[1]!, component: given.component ?? free[2]! };
}

async function buildInput(opts: ProsodyOptions, dataDir: string): Promise<ProsodyConfigInput> {
  const pluginDir = findCcertPluginDir();
  if (!pluginDir) {
    throw new Error(`mod_auth_ccert not found in ${PLUGIN_DIRS.join(', ')}: install prosody-modules`);
  }
  const domain = opts.domain ?? 'grid.test';
  return {
    domain,
    componentJid: opts.componentJid ?? `controller.${domain}`,
    componentSecret: opts.componentSecret,
    caFile: resolve(opts.caFile),
    certFile: resolve(opts.certFile),
    keyFile: resolve(opts.keyFile),
    ports: await resolvePorts(opts.ports),
    dataDir,
    pidFile: join(dataDir, 'prosody.pid'),
    logFile: join(dataDir, 'prosody.log'),
    logLevel: opts.logLevel ?? 'info',
    pluginPaths: [pluginDir, GRID_PROSODY_MODULES],
    pubsubComponent: opts.pubsubComponent ?? true,
    pubsubAdmins: opts.pubsubAdmins ?? [],
    multicastSenders: opts.multicast === false ? [] : opts.multicastSenders ?? [opts.componentJid ?? `controller.${domain}`],
    runAsRoot: process.getuid?.() === 0,
    c2sStanzaSizeLimit: opts.c2sStanzaSizeLimit ?? 256 * 1024,
    componentStanzaSizeLimit: opts.componentStanzaSizeLimit ?? 512 * 1024,
  };
}

function spawnProsody(configFile: string, logFile: string): ChildProcess {
  const child = spawn('prosody', ['-F', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Prosody prints config and startup errors on stdout/stderr before its log sink is up.
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  child.once('close', () => log.end());
  return child;
}

function exitDescription(child: ChildProcess): string | undefined {
  if (child.exitCode !== null) return `exited with code ${child.exitCode}`;
  if (child.signalCode !== null) return `was killed by ${child.signalCode}`;
  return undefined;
}

async function stopChild(child: ChildProcess): Promise<void> {
  // No pid: spawn itself failed and there is no process (and no 'exit' event) to wait for.
  if (child.pid !== undefined && exitDescription(child) === undefined) {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  running.delete(child);
}

export async function startProsody(opts: ProsodyOptions): Promise<ProsodyHandle> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = ownDir ? await mkdtemp(join(tmpdir(), 'devgrid-prosody-')) : resolve(opts.dataDir!);
  // certs/ exists only so Prosody's certificate indexer does not log an error at startup.
  await mkdir(join(dataDir, 'certs'), { recursive: true });
  const cleanup = () => (ownDir ? rm(dataDir, { recursive: true, force: true }) : Promise.resolve());
  let child: ChildProcess | undefined;
  try {
    const input = await buildInput(opts, dataDir);
    const configFile = join(dataDir, 'prosody.cfg.lua');
    // The config holds the component secret: owner-only.
    await writeFile(configFile, renderProsodyConfig(input), { mode: 0o600 });
    // A reused data dir must not show an earlier run's lines (the port check reads the log).
    await writeFile(input.logFile, '');
    installExitHook();
    child = spawnProsody(configFile, input.logFile);
    running.add(child);
    let spawnFailure: string | undefined;
    child.once('error', (e) => { spawnFailure = `could not run prosody (is it installed?): ${e.message}`; });
    const started = child;
    await waitForPorts(Object.values(input.ports), opts.startTimeoutMs ?? 10_000, () => {
      const exit = exitDescription(started);
      return spawnFailure ?? (exit && `prosody ${exit} during startup`) ?? portFailureInLog(readLog(input.logFile));
    }).then(() => confirmListeners(input)).catch((err: Error) => {
      throw new Error(`${err.message}; log ${input.logFile}:\n${logTail(input.logFile)}`);
    });
    return {
      ports: input.ports,
      domain: input.domain,
      componentJid: input.componentJid,
      pubsubJid: input.pubsubComponent ? `pubsub.${input.domain}` : undefined,
      dataDir,
      configFile,
      logFile: input.logFile,
      pid: started.pid ?? -1,
      stop: async () => { await stopChild(started); await cleanup(); },
    };
  } catch (err) {
    if (child) await stopChild(child);
    // Keep the log of a failed start only when it lives in a caller's directory.
    await cleanup();
    throw err;
  }
}
