// Processes the bench starts and measures: the controller as its own child (so its RSS and
// CPU are its own), /proc readings, and one place that stops everything on exit or Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../src/config/types.js';

const CLI = fileURLToPath(new URL('../src/cli/grid-controller.js', import.meta.url));

export interface ProcMemory { rss_mb: number; hwm_mb: number }

/** VmRSS and VmHWM (peak) of a live process, in MB. */
export function procMemory(pid: number): ProcMemory | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rss_mb: +(kb('VmRSS') / 1024).toFixed(1), hwm_mb: +(kb('VmHWM') / 1024).toFixed(1) };
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat, clock ticks of 100 Hz). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

export interface ControllerProc { child: ChildProcess; pid: number; stop(): Promise<void>; exited: Promise<number | null> }

/** `grid-controller start` with the grid's settings as GRID_* variables; `nodeArgs` e.g. --cpu-prof. */
export function spawnController(cfg: Config, nodeArgs: string[] = [], extraEnv: Record<string, string> = {}): ControllerProc {
  const env = {
    ...process.env,
    GRID_XMPP_SERVICE: cfg.xmpp.service,
    GRID_XMPP_DOMAIN: cfg.xmpp.domain,
    GRID_XMPP_SECRET: cfg.xmpp.secret,
    GRID_TRUST_CA: cfg.trust.ca[0]!,
    GRID_POLICIES: cfg.policies,
    GRID_DATA: cfg.data,
    GRID_LOG_LEVEL: process.env.BENCH_CONTROLLER_LOG ?? 'warn',
    ...extraEnv,
  };
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'start'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  // Warnings and errors only (GRID_LOG_LEVEL=warn): shown on stderr, tagged.
  child.stdout!.on('data', (d: Buffer) => process.stderr.write(`[controller] ${d.toString().slice(0, 2000)}`));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child, pid: child.pid!, exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode) return;
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Things to undo, newest first; runs once, also on SIGINT/SIGTERM and on a crash. */
export class Cleanup {
  private readonly steps: { name: string; fn: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  add(name: string, fn: () => Promise<void> | void): void {
    this.steps.push({ name, fn });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const s of this.steps.reverse()) {
        try {
          await s.fn();
        } catch (err) {
          process.stderr.write(`bench: cleanup of ${s.name} failed: ${(err as Error).message}\n`);
        }
      }
    })();
    return this.running;
  }

  installSignalHandlers(): void {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.on(sig, () => {
        process.stderr.write(`bench: ${sig}, stopping everything it started\n`);
        void this.run().finally(() => process.exit(130));
      });
    }
  }
}
