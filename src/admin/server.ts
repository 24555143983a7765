// The local admin socket (PROTOCOL §11): newline-delimited JSON over a Unix domain socket
// that only the controller's user can open.
//
// Who may connect. Node cannot read the peer's uid (no SO_PEERCRED), so access rests on file
// permissions: the socket is bound under umask 0177 (never connectable by others, not even
// for an instant) and chmod'ed 0600 after listen; a parent folder we create is made 0700.
// Linux checks write permission on the socket file at connect(2), so that suffices there; on
// other systems, which may not, the parent folder must itself be private or we refuse to
// start. A parent writable by others without the sticky bit is refused everywhere: anyone
// could swap the socket for their own and answer the CLI.
import { createServer, type Server, type Socket } from 'node:net';
import { chmod, lstat, mkdir, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../log.js';
import { runOp } from './ops.js';
import { controllerRunning } from './client.js';
import { MAX_REQUEST_BYTES, type AdminOps, type AdminResponse } from './types.js';

export interface AdminServerOptions {
  socketPath: string;
  ops: AdminOps;
  log: Logger;
  /** A connection silent this long is closed (default 60 s). */
  idleTimeoutMs?: number;
}

export interface AdminServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

/** Lines read but not yet answered before a connection stops reading (backpressure). */
const MAX_PENDING_LINES = 32;

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const { socketPath, log } = opts;
  await preparePrivateDir(dirname(socketPath));
  await clearStaleSocket(socketPath);
  const conns = new Set<Socket>();
  const server = createServer((sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    serveConnection(sock, opts);
  });
  await listenPrivately(server, socketPath);
  log.info({ socket: socketPath }, 'admin socket listening');
  let closing: Promise<void> | undefined;
  return {
    socketPath,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of conns) c.destroy();
      }).then(() => unlinkQuiet(socketPath));
      return closing;
    },
  };
}

async function preparePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await stat(dir);
  const sticky = (st.mode & 0o1000) !== 0;
  if ((st.mode & 0o022) !== 0 && !sticky) {
    throw new Error(`admin socket folder ${dir} is writable by other users: set admin.socket to a path in a folder only the controller's user can write`);
  }
  if (process.platform !== 'linux' && (st.mode & 0o077) !== 0) {
    throw new Error(`admin socket folder ${dir} is open to other users, and ${process.platform} may not enforce socket permissions: chmod 700 it or set admin.socket elsewhere`);
  }
}

/** A socket file nobody answers on is left over from a crash; anything else is not ours to remove. */
async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket: move it away or set admin.socket elsewhere`);
  if (await controllerRunning(path, 1000)) throw new Error(`another process answers on the admin socket ${path}: is a controller already running on this data folder?`);
  await unlinkQuiet(path);
}

async function listenPrivately(server: Server, path: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // listen() binds synchronously (checked on Node 20), so the umask covers this socket
      // and nothing else the process creates.
      const restore = setUmask(0o177);
      try {
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        if (restore !== undefined) process.umask(restore);
      }
    });
  } catch (e) {
    throw new Error(`cannot listen on admin socket ${path}: ${(e as Error).message}`);
  }
  await chmod(path, 0o600);
}

function setUmask(mask: number): number | undefined {
  try {
    return process.umask(mask);
  } catch {
    return undefined; // worker threads cannot change it; chmod below still applies
  }
}

function serveConnection(sock: Socket, opts: AdminServerOptions): void {
  const log = opts.log;
  sock.setTimeout(opts.idleTimeoutMs ?? 60_000, () => sock.destroy());
  sock.on('error', (err) => log.debug({ err: err.message }, 'admin connection error'));
  let buf: Buffer = Buffer.alloc(0);
  let pending = 0;
  let queue = Promise.resolve();
  const send = (r: AdminResponse) => {
    if (!sock.destroyed && sock.writable) sock.write(`${JSON.stringify(r)}\n`);
  };
  const enqueue = (line: Buffer) => {
    if (line.toString('utf8').trim() === '') return; // blank lines are harmless (e.g. typed into nc)
    pending++;
    if (pending >= MAX_PENDING_LINES) sock.pause();
    queue = queue.then(async () => {
      send(await answerLine(line, opts));
      pending--;
      if (pending < MAX_PENDING_LINES && !sock.destroyed) sock.resume();
    });
  };
  let hangingUp = false;
  sock.on('data', (chunk: Buffer) => {
    if (hangingUp) return;
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    let nl: number;
    while ((nl = buf.indexOf(0x0a)) !== -1) {
      const line = buf.subarray(0, nl);
      buf = buf.subarray(nl + 1);
      if (line.length > MAX_REQUEST_BYTES) send(tooLong());
      else enqueue(line);
    }
    if (buf.length > MAX_REQUEST_BYTES) {
      // No way to find the next request boundary without reading on: answer and hang up.
      buf = Buffer.alloc(0);
      hangingUp = true;
      void queue.then(() => {
        send(tooLong());
        sock.end();
      });
    }
  });
}

function tooLong(): AdminResponse {
  return { id: null, ok: false, error: { code: 'bad-request', text: `request line longer than ${MAX_REQUEST_BYTES} bytes` } };
}

async function answerLine(line: Buffer, opts: AdminServerOptions): Promise<AdminResponse> {
  const text = line.toString('utf8').trim();
  let req: unknown;
  try {
    req = JSON.parse(text);
  } catch (e) {
    return { id: null, ok: false, error: { code: 'bad-request', text: `not JSON: ${(e as Error).message}` } };
  }
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    return { id: null, ok: false, error: { code: 'bad-request', text: 'a request is a JSON object { id, op, args }' } };
  }
  const { id, op, args } = req as Record<string, unknown>;
  if (typeof id !== 'string' && typeof id !== 'number') {
    return { id: null, ok: false, error: { code: 'bad-request', text: 'id must be a string or a number' } };
  }
  try {
    const r = await runOp(opts.ops, op, args);
    opts.log.info({ op, id, ok: r.ok, ...(r.ok ? {} : { code: r.error.code }) }, 'admin request');
    return { id, ...r };
  } catch (err) {
    opts.log.error({ err, op, id }, 'admin op failed');
    return { id, ok: false, error: { code: 'internal', text: `${String(op)} failed inside the controller; see its log` } };
  }
}

async function unlinkQuiet(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
