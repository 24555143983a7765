// A real PostgreSQL for tests, the bench and the cluster demo (scripts/demo.sh --cluster): initdb in a temporary folder, `postgres` listening
// on a Unix socket in that folder only (no TCP port), stopped (SIGTERM, then waited for) at the
// end. PostgreSQL refuses to run as root, and tests run as root here and in CI: the server then
// runs as the `postgres` user (Debian's package creates it) or else `nobody`, through setpriv
// (util-linux), which execs — so the pid we hold is the server's own — and the folder is
// chowned to that user. Readiness is the server's own "ready to accept connections" line.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PgServer {
  /** postgresql://… URL of the server's `postgres` database, over the socket. */
  url: string;
  /** The same for another database or with a search_path (a schema per test). */
  urlFor(opts: { database?: string; schema?: string }): string;
  socketDir: string;
  pid: number;
  /** SIGKILL the server (a crash), for fault tests; `start()` again on the same folder. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const USER = 'grid';

/** Every process below `pid` (Linux /proc). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* exited meanwhile */ }
  }
  const out: number[] = [];
  for (const todo = [pid]; todo.length;) {
    const at = todo.pop()!;
    for (const [child, pp] of parent) if (pp === at) out.push(child), todo.push(child);
  }
  return out;
}

/** Resolves once none of `pids` is alive (killed processes are reaped by their parent or init). */
async function waitGone(pids: number[]): Promise<void> {
  for (let tries = 0; tries < 500; tries++) {
    const alive = pids.filter((p) => {
      try {
        return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${p}/stat`, 'utf8')); // a zombie is gone
      } catch {
        return false;
      }
    });
    if (!alive.length) return;
    await new Promise((r) => setTimeout(r, 10)); // polling the kernel's process table; no event exists for another's child
  }
  throw new Error(`PostgreSQL processes still alive 5 s after SIGKILL: ${pids.join(', ')}`);
}

export function pgBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length) throw new Error(`no PostgreSQL server binaries under ${root} (Debian: apt-get install postgresql; or bash scripts/setup.sh)`);
  return join(root, versions[0]!, 'bin');
}

/** The uid/gid the server runs as: ours when not root, else postgres or nobody. */
function serverUser(): { uid: number; gid: number; asRoot: boolean } {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) return { uid, gid: process.getgid?.() ?? 0, asRoot: false };
  for (const name of ['postgres', 'nobody']) {
    const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (r.status === 0 && g.status === 0) return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()), asRoot: true };
  }
  throw new Error('running as root and neither a postgres nor a nobody user exists to run PostgreSQL as');
}

function command(u: ReturnType<typeof serverUser>, bin: string, args: string[]): [string, string[]] {
  return u.asRoot ? ['setpriv', [`--reuid=${u.uid}`, `--regid=${u.gid}`, '--clear-groups', '--', bin, ...args]] : [bin, args];
}

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, name.name);
    if (name.isDirectory()) chownTree(p, uid, gid);
    else chownSync(p, uid, gid);
  }
}

export async function startPostgres(opts: { keepDir?: boolean; log?: (line: string) => void } = {}): Promise<PgServer> {
  const bin = pgBinDir();
  const u = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'grid-pg-'));
  const data = join(dir, 'data');
  chownTree(dir, u.uid, u.gid);
  const [initCmd, initArgs] = command(u, join(bin, 'initdb'), ['-D', data, '-U', USER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }
  let child: ChildProcess | undefined;
  const server: PgServer = {
    url: '',
    socketDir: dir,
    pid: 0,
    urlFor: ({ database = 'postgres', schema }) =>
      `postgresql://${USER}@${encodeURIComponent(dir)}/${database}${schema ? `?options=${encodeURIComponent(`-c search_path=${schema}`)}` : ''}`,
    start: async () => {
      const [cmd, args] = command(u, join(bin, 'postgres'), [
        '-D', data, '-k', dir, '-c', 'listen_addresses=', '-c', 'unix_socket_permissions=0777',
        '-c', 'max_connections=200', '-c', 'shared_buffers=32MB', '-c', 'log_min_messages=warning', '-c', 'logging_collector=off',
      ]);
      const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
      child = c;
      server.pid = c.pid ?? 0;
      await new Promise<void>((resolve, reject) => {
        let err = '';
        const onData = (d: string): void => {
          err += d;
          for (const line of d.split('\n')) if (line) opts.log?.(line);
          if (/database system is ready to accept connections/.test(err)) {
            c.stderr!.off('data', onData);
            c.stderr!.on('data', (more: string) => { for (const line of more.split('\n')) if (line) opts.log?.(line); });
            resolve();
          }
        };
        c.stderr!.setEncoding('utf8').on('data', onData);
        c.once('exit', (code, signal) => reject(new Error(`postgres exited (${code ?? signal}) before it was ready: ${err}`)));
      });
    },
    kill: async () => {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      // The whole server at once, as a crash of its machine would: the postmaster alone would
      // leave its backends running for a moment, and a transaction could still commit on one
      // after kill() returned.
      const all = [c.pid!, ...descendants(c.pid!)];
      const gone = new Promise((r) => c.once('exit', r));
      for (const pid of all.reverse()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch { /* already gone */ }
      }
      await gone;
      await waitGone(all);
    },
    stop: async () => {
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGINT'); // fast shutdown: disconnects clients, checkpoints, exits
        await gone;
      }
      if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  server.url = server.urlFor({});
  await server.start();
  return server;
}
