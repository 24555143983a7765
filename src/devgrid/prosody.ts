// Starts and stops a throwaway Prosody 0.12 for tests and demos: generated config, loopback
// ports, client-certificate login (mod_auth_ccert), the controller as an XEP-0114 component.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderProsodyConfig } from './prosody-config.js';
import { contribProsodyConfig } from './contrib-config.js';
import { waitForPorts } from './ports.js';
import { serverInput } from './server-input.js';
import { confirmListeners, portFailureInLog } from './probe.js';
import { exitDescription, logTail, readLog, spawnServer, stopChild } from './process.js';
import type { ProsodyConfigInput, ServerHandle, ProsodyOptions } from './types.js';

/** The project's own Prosody modules (mod_grid_multicast). */
export const GRID_PROSODY_MODULES = fileURLToPath(new URL('../../../src/prosody/', import.meta.url));
/** Where Debian's prosody-modules may have put mod_auth_ccert. */
const PLUGIN_DIRS = ['/usr/lib/prosody/modules', '/usr/share/prosody-modules', '/usr/local/lib/prosody/modules'];
export function findCcertPluginDir(dirs: string[] = PLUGIN_DIRS): string | undefined {
  return dirs.find((d) => existsSync(join(d, 'mod_auth_ccert', 'mod_auth_ccert.lua')) || existsSync(join(d, 'mod_auth_ccert.lua')));
}

async function confirmProsody(c: ProsodyConfigInput): Promise<void> {
  await confirmListeners(c, 'Prosody');
  const failure = portFailureInLog(readLog(c.logFile));
  if (failure) throw new Error(failure);
}

async function buildInput(opts: ProsodyOptions, dataDir: string): Promise<ProsodyConfigInput> {
  const pluginDir = findCcertPluginDir();
  if (!pluginDir) {
    throw new Error(`mod_auth_ccert not found in ${PLUGIN_DIRS.join(', ')}: install prosody-modules`);
  }
  const base = await serverInput(opts);
  return {
    ...base,
    dataDir,
    pidFile: join(dataDir, 'prosody.pid'),
    logFile: join(dataDir, 'prosody.log'),
    pluginPaths: [pluginDir, GRID_PROSODY_MODULES],
    pubsubAdmins: opts.pubsubAdmins ?? [],
    multicastSenders: opts.multicast === false ? [] : opts.multicastSenders ?? [base.componentJid],
    runAsRoot: process.getuid?.() === 0,
  };
}

function spawnProsody(configFile: string, logFile: string): ChildProcess {
  return spawnServer('prosody', ['-F', '--config', configFile], logFile);
}

export async function startProsody(opts: ProsodyOptions): Promise<ServerHandle> {
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
    await writeFile(configFile, opts.config === 'contrib' ? contribProsodyConfig(input) : renderProsodyConfig(input), { mode: 0o600 });
    // A reused data dir must not show an earlier run's lines (the port check reads the log).
    await writeFile(input.logFile, '');
    child = spawnProsody(configFile, input.logFile);
    let spawnFailure: string | undefined;
    child.once('error', (e) => { spawnFailure = `could not run prosody (is it installed?): ${e.message}`; });
    const started = child;
    await waitForPorts(Object.values(input.ports), opts.startTimeoutMs ?? 10_000, () => {
      const exit = exitDescription(started);
      return spawnFailure ?? (exit && `prosody ${exit} during startup`) ?? portFailureInLog(readLog(input.logFile));
    }).then(() => confirmProsody(input)).catch((err: Error) => {
      throw new Error(`${err.message}; log ${input.logFile}:\n${logTail(input.logFile)}`);
    });
    return {
      kind: 'prosody',
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
