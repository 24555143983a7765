// Starts and stops a throwaway ejabberd 23.01 for tests, the demo and the benchmark: ONE
// foreground `erl` process (no ejabberdctl, no node name, so no Erlang distribution and no
// epmd), a generated config, loopback ports, a temp dir for Mnesia and logs. It never touches
// or needs the system's ejabberd instance (/etc/ejabberd, /var/lib/ejabberd).
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderEjabberdConfig, type EjabberdConfigInput } from './ejabberd-config.js';
import { contribEjabberdConfig } from './contrib-config.js';
import { waitForPorts } from './ports.js';
import { serverInput } from './server-input.js';
import { confirmListeners, ejabberdFailureInLog } from './probe.js';
import { exitDescription, logTail, readLog, spawnServer, stopChild } from './process.js';
import type { EjabberdOptions, ServerHandle } from './types.js';

/** Where Debian puts ejabberd's Erlang applications (ERL_LIBS), first match wins. */
const ERL_LIBS_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib/ejabberd', '/opt/ejabberd/lib'];

/** The first directory holding ejabberd-<version>/ebin/ejabberd.app, if any. */
export function findEjabberdLibs(dirs: string[] = ERL_LIBS_DIRS): string | undefined {
  const isLibs = (d: string) => existsSync(d) &&
    readdirSync(d).some((n) => n.startsWith('ejabberd-') && existsSync(join(d, n, 'ebin', 'ejabberd.app')));
  return dirs.find(isLibs);
}

/** The installed ejabberd's version, from its application directory's name (e.g. `23.01`). */
export function ejabberdVersion(): string | undefined {
  const libs = findEjabberdLibs();
  const app = libs && readdirSync(libs).find((n) => /^ejabberd-\d+\.\d+$/.test(n));
  return app ? app.slice('ejabberd-'.length) : undefined;
}

function spawnEjabberd(dataDir: string, configFile: string, logFile: string, erlLibs: string): ChildProcess {
  const env = {
    ...process.env,
    HOME: dataDir,
    ERL_LIBS: erlLibs,
    EJABBERD_CONFIG_PATH: configFile,
    EJABBERD_LOG_PATH: logFile,
    ERL_CRASH_DUMP: join(dataDir, 'erl_crash.dump'),
  };
  // `-mnesia dir` takes an Erlang string term, hence the inner quotes.
  return spawnServer('erl', ['-noinput', '-mnesia', 'dir', JSON.stringify(join(dataDir, 'mnesia')), '-s', 'ejabberd'], join(dataDir, 'erl.out'), env);
}

export async function startEjabberd(opts: EjabberdOptions): Promise<ServerHandle> {
  const erlLibs = findEjabberdLibs();
  if (!erlLibs) throw new Error(`ejabberd not found in ${ERL_LIBS_DIRS.join(', ')}: install the ejabberd package`);
  const ownDir = opts.dataDir === undefined;
  const dataDir = ownDir ? await mkdtemp(join(tmpdir(), 'devgrid-ejabberd-')) : resolve(opts.dataDir!);
  await mkdir(join(dataDir, 'mnesia'), { recursive: true });
  const cleanup = () => (ownDir ? rm(dataDir, { recursive: true, force: true }) : Promise.resolve());
  const input: EjabberdConfigInput = {
    ...await serverInput(opts),
    multicast: opts.multicast ?? true,
    ...(opts.multicastRemoteLimit !== undefined ? { multicastRemoteLimit: opts.multicastRemoteLimit } : {}),
    ...(opts.componentNumber !== undefined ? { componentNumber: opts.componentNumber } : {}),
  };
  const domain = input.domain;
  const configFile = join(dataDir, 'ejabberd.yml');
  const logFile = join(dataDir, 'ejabberd.log');
  let child: ChildProcess | undefined;
  try {
    // The config holds the component secret: owner-only.
    await writeFile(configFile, opts.config === 'contrib' ? contribEjabberdConfig(input) : renderEjabberdConfig(input), { mode: 0o600 });
    await writeFile(logFile, '');
    child = spawnEjabberd(dataDir, configFile, logFile, erlLibs);
    let spawnFailure: string | undefined;
    child.once('error', (e) => { spawnFailure = `could not run erl (is ejabberd installed?): ${e.message}`; });
    const started = child;
    const failure = () => ejabberdFailureInLog(readLog(logFile));
    await waitForPorts(Object.values(input.ports), opts.startTimeoutMs ?? 20_000, () => {
      const exit = exitDescription(started);
      // The log first: ejabberd names the port it could not bind, then exits with code 1.
      return spawnFailure ?? failure() ?? (exit && `ejabberd ${exit} during startup`);
    }).then(() => confirmListeners(input, 'ejabberd', 4)).then(() => {
      const f = failure();
      if (f) throw new Error(f);
    }).catch((err: Error) => {
      throw new Error(`${err.message}; log ${logFile}:\n${logTail(logFile)}\n${logTail(join(dataDir, 'erl.out'), 10)}`);
    });
    return {
      kind: 'ejabberd',
      ports: input.ports,
      domain,
      componentJid: input.componentJid,
      pubsubJid: input.pubsubComponent ? `pubsub.${domain}` : undefined,
      dataDir,
      configFile,
      logFile,
      pid: started.pid ?? -1,
      stop: async () => { await stopChild(started); await cleanup(); },
    };
  } catch (err) {
    if (child) await stopChild(child);
    await cleanup();
    throw err;
  }
}
