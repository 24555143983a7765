// The CLI's side of the admin socket: one request per connection, answer matched by id.
// Expected failures (no controller, no permission, timeout) resolve as error replies.
import { createConnection } from 'node:net';
import { randomUUID } from 'node:crypto';
import { MAX_RESPONSE_BYTES, type AdminErrorCode, type AdminOpArgs, type AdminOpName, type AdminOpResults, type AdminReply } from './types.js';

export async function adminRequest<K extends AdminOpName>(
  socketPath: string,
  op: K,
  args: AdminOpArgs[K],
  timeoutMs = 10_000,
): Promise<AdminReply<AdminOpResults[K]>> {
  const id = randomUUID();
  const reply = await exchange(socketPath, `${JSON.stringify({ id, op, args })}\n`, id, timeoutMs);
  return reply as AdminReply<AdminOpResults[K]>;
}

/** True when something accepts connections on the socket: a controller runs on that data folder. */
export function controllerRunning(socketPath: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(socketPath);
    s.setTimeout(timeoutMs, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function exchange(socketPath: string, line: string, id: string, timeoutMs: number): Promise<AdminReply<unknown>> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: AdminReply<unknown>) => {
      if (done) return;
      done = true;
      s.destroy();
      resolve(r);
    };
    const s = createConnection(socketPath);
    s.setTimeout(timeoutMs, () => finish({ ok: false, error: { code: 'timeout', text: `the controller did not answer on ${socketPath} within ${timeoutMs} ms` } }));
    s.once('connect', () => s.write(line));
    s.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, error: { code: 'unavailable', text: connectProblem(socketPath, e) } }));
    let buf: Buffer = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      const nl = buf.indexOf(0x0a);
      if (nl === -1) {
        if (buf.length > MAX_RESPONSE_BYTES) finish({ ok: false, error: { code: 'internal', text: `answer longer than ${MAX_RESPONSE_BYTES} bytes` } });
        return;
      }
      finish(parseAnswer(buf.subarray(0, nl).toString('utf8'), id));
    });
    s.on('end', () => finish({ ok: false, error: { code: 'unavailable', text: `the controller closed ${socketPath} without answering` } }));
  });
}

function parseAnswer(text: string, id: string): AdminReply<unknown> {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch {
    return { ok: false, error: { code: 'internal', text: 'the controller answered something that is not JSON' } };
  }
  const a = r as { id?: unknown; ok?: unknown; result?: unknown; error?: { code?: unknown; text?: unknown } };
  if (typeof a !== 'object' || a === null || (a.id !== id && a.id !== null)) {
    return { ok: false, error: { code: 'internal', text: 'the controller answered another request' } };
  }
  if (a.ok === true) return { ok: true, result: a.result };
  const code = typeof a.error?.code === 'string' ? a.error.code : 'internal';
  const msg = typeof a.error?.text === 'string' ? a.error.text : code;
  return { ok: false, error: { code: code as AdminErrorCode, text: msg } };
}

function connectProblem(path: string, e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
      return `no controller answers on ${path}`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied on ${path}: run this as the controller's user`;
    default:
      return `cannot reach the controller on ${path}: ${e.message}`;
  }
}
