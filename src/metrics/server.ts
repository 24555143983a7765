// The scrape endpoint (`metrics.listen`, off by default): GET /metrics (Prometheus text) and
// GET /healthz (200 while the XMPP link is up, 503 while it is down). Node's own http module:
// two read-only routes need no framework, and this door must not depend on the TAXII
// server's (fastify) being there. No authentication: bind it to loopback or a private net.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { PromMetrics } from './prom.js';

export interface MetricsServer {
  /** http://host:port as bound (port 0 in the config picks a free one). */
  readonly url: string;
  close(): Promise<void>;
}

/** "127.0.0.1:9464", "[::1]:9464" → host and port; null when malformed. */
export function parseListen(s: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]\s]+)):(\d{1,5})$/.exec(s.trim());
  if (!m) return null;
  const port = Number(m[3]);
  return port <= 65535 ? { host: m[1] ?? m[2]!, port } : null;
}

export async function startMetricsServer(listen: string, metrics: PromMetrics, linkUp: () => boolean, log: Logger): Promise<MetricsServer> {
  const at = parseListen(listen);
  if (!at) throw new Error(`metrics.listen: "${listen}" is not host:port`);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => {
          log.error({ err }, 'metrics collection failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
        },
      );
      return;
    }
    if (path === '/healthz') {
      const up = linkUp();
      res.writeHead(up ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify({ xmpp: up ? 'up' : 'down' })}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: Error) => {
    throw new Error(`metrics.listen ${listen}: ${err.message}`);
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  log.info({ url }, 'metrics endpoint listening');
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
