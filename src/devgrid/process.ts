// The XMPP server as a child process of the dev grid: spawned in the foreground with its
// output in a log file, stopped with SIGTERM (SIGKILL after a grace period), and killed when
// node exits, so no server outlives a test run, the demo or the benchmark.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';

const STOP_GRACE_MS = 5000;
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Nothing may outlive the test run: kill every server we started when node exits. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Last lines of a log file, for error messages (never the whole file). */
export function logTail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}

export function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Starts `command`; stdout and stderr (startup errors come before the server's own log) go to `logFile`. */
export function spawnServer(command: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): ChildProcess {
  installExitHook();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
  running.add(child);
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  child.once('close', () => log.end());
  return child;
}

export function exitDescription(child: ChildProcess): string | undefined {
  if (child.exitCode !== null) return `exited with code ${child.exitCode}`;
  if (child.signalCode !== null) return `was killed by ${child.signalCode}`;
  return undefined;
}

export async function stopChild(child: ChildProcess): Promise<void> {
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
