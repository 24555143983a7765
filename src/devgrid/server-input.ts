// The options both servers are started with, resolved the same way: defaults, absolute paths,
// free loopback ports for those not given.
import { resolve } from 'node:path';
import { resolvePorts } from './ports.js';
import type { ServerConfigInput, ServerOptions } from './types.js';

export async function serverInput(opts: ServerOptions): Promise<ServerConfigInput> {
  const domain = opts.domain ?? 'grid.test';
  return {
    domain,
    componentJid: opts.componentJid ?? `controller.${domain}`,
    componentSecret: opts.componentSecret,
    caFile: resolve(opts.caFile),
    certFile: resolve(opts.certFile),
    keyFile: resolve(opts.keyFile),
    ports: await resolvePorts(opts.ports),
    logLevel: opts.logLevel ?? 'info',
    pubsubComponent: opts.pubsubComponent ?? true,
    c2sStanzaSizeLimit: opts.c2sStanzaSizeLimit ?? 256 * 1024,
    componentStanzaSizeLimit: opts.componentStanzaSizeLimit ?? 512 * 1024,
  };
}
