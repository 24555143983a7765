// Loopback port helpers for the development grid.
import { createServer, connect } from 'node:net';
import type { ServerPorts } from './types.js';

/** A port that is free on 127.0.0.1 right now (the OS picks it; there is a small race). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not read the bound port'))));
    });
  });
}

/** Distinct free ports, `count` of them. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Resolves true when a TCP connect to 127.0.0.1:port succeeds, false when refused. */
export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls until every port accepts a connection. Stops early when `abort()` returns a reason
 * (e.g. the server process exited) and rejects with it; rejects after `timeoutMs`.
 */
export async function waitForPorts(
  ports: number[], timeoutMs: number, abort: () => string | undefined, intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = [...ports];
  for (;;) {
    const reason = abort();
    if (reason) throw new Error(reason);
    const open = await Promise.all(pending.map((p) => canConnect(p)));
    pending = pending.filter((_, i) => !open[i]);
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`ports ${pending.join(', ')} not listening after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The server's three ports: the given ones, the rest picked free on 127.0.0.1. */
export async function resolvePorts(given: Partial<ServerPorts> = {}): Promise<ServerPorts> {
  const free = await freePorts(3);
  return { c2s: given.c2s ?? free[0]!, c2sTls: given.c2sTls ?? free[1]!, component: given.component ?? free[2]! };
}
