// A whole development grid on loopback: a dev PKI, a real XMPP server (Prosody or ejabberd,
// see server-profile.ts), the controller, and a way to connect nodes with their certificates.
// Used by the integration tests, the demo and the benchmark, so all three exercise the same
// real parts. Without `server`, $GRID_TEST_SERVER picks it (scripts/run-tests.mjs runs the
// integration suite once per server that way).
import { mkdtempSync, rmSync, readFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeDevPki } from '../identity/devcerts.js';
import type { DevPkiNode, DevPkiPaths } from '../identity/types.js';
import { profileOf, defaultServer, type ServerProfile } from './server-profile.js';
import type { ServerHandle, ServerKind } from './types.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { silentLogger, type Logger } from '../log.js';
import { startController, type RunningController } from '../main.js';
import { connectNode } from '../agent/connection.js';
import type { NodeConnection, ConnectNodeOptions } from '../agent/types.js';

export interface DevGridOptions {
  /** The XMPP server; default $GRID_TEST_SERVER, else `prosody`. */
  server?: ServerKind;
  /** Node certificates to issue (name `soc1` → soc1@grid.test). */
  nodes: DevPkiNode[];
  /** Policy folder copied into the grid's work dir (so tests may edit it); default the shipped policies/. */
  policiesDir?: string;
  /** Extra GRID_* settings for the controller. */
  env?: Record<string, string>;
  log?: Logger;
  domain?: string;
  /** Keep the work dir after stop (for the demo). */
  keep?: boolean;
  /** Start the controller too (default true). */
  controller?: boolean;
  workDir?: string;
  /** Owners of Prosody's own pubsub service (the benchmark compares against it). */
  pubsubAdmins?: string[];
  /** XEP-0033 for the controller (Prosody: mod_grid_multicast; ejabberd: mod_multicast). Default true. */
  multicast?: boolean;
  /** Prosody: components permitted to multicast instead of the controller (tests of a refusing server). */
  multicastSenders?: string[];
  /** ejabberd: mod_multicast's `limits: remote: message:` (default unset: ejabberd's 20). */
  multicastRemoteLimit?: number;
  /** ejabberd: a cluster of this many controllers (domain_balancing bare_source, component_number). */
  componentNumber?: number;
  /** The XMPP server's config: the dev grid's own (default) or the operator's snippet in contrib/. */
  serverConfig?: 'generated' | 'contrib';
  /** Start the HTTPS server (TAXII door, PROTOCOL §13) on a free loopback port with the dev server certificate. */
  taxii?: { basic?: boolean };
}

export interface DevGrid {
  workDir: string;
  domain: string;
  pki: DevPkiPaths;
  /** The running XMPP server. */
  server: ServerHandle;
  /** What differs about that server (bounce texts, multicast service, certificate login). */
  profile: ServerProfile;
  /** The same handle as `server`, under its name from before ejabberd (tests written then use it). */
  prosody: ServerHandle;
  cfg: Config;
  controller: RunningController | undefined;
  policiesDir: string;
  /** Connects node `name` with its certificate over direct TLS. */
  connect(name: string, opts?: Partial<ConnectNodeOptions>): Promise<NodeConnection>;
  startController(log?: Logger): Promise<RunningController>;
  stopController(): Promise<void>;
  stop(): Promise<void>;
}

export const SHIPPED_POLICIES = resolve(new URL('../../../policies', import.meta.url).pathname);

export async function startDevGrid(o: DevGridOptions): Promise<DevGrid> {
  const domain = o.domain ?? 'grid.test';
  const workDir = o.workDir ?? mkdtempSync(join(tmpdir(), 'grid-'));
  const pki = writeDevPki({ outDir: join(workDir, 'certs'), domain, nodes: o.nodes });
  const policiesDir = join(workDir, 'policies');
  cpSync(o.policiesDir ?? SHIPPED_POLICIES, policiesDir, { recursive: true });
  const secret = randomBytes(18).toString('base64url');
  const profile = profileOf(o.server ?? defaultServer());
  const server = await profile.start({ domain, componentSecret: secret, caFile: pki.ca.cert, certFile: pki.server.cert, keyFile: pki.server.key, ...(o.pubsubAdmins ? { pubsubAdmins: o.pubsubAdmins } : {}),
    ...(o.multicast === false ? { multicast: false } : {}), ...(o.multicastSenders ? { multicastSenders: o.multicastSenders } : {}),
    ...(o.multicastRemoteLimit !== undefined ? { multicastRemoteLimit: o.multicastRemoteLimit } : {}), ...(o.componentNumber !== undefined ? { componentNumber: o.componentNumber } : {}), ...(o.serverConfig ? { config: o.serverConfig } : {}) });
  const cfg = loadConfig({
    baseDir: workDir,
    env: {
      GRID_XMPP_SERVICE: `xmpp://127.0.0.1:${server.ports.component}`,
      GRID_XMPP_DOMAIN: server.componentJid,
      GRID_XMPP_SECRET: secret,
      GRID_TRUST_CA: pki.ca.cert,
      GRID_POLICIES: policiesDir,
      GRID_DATA: join(workDir, 'var'),
      ...(o.taxii ? { GRID_TAXII_LISTEN: '127.0.0.1:0', GRID_TAXII_CERT: pki.server.cert, GRID_TAXII_KEY: pki.server.key, GRID_TAXII_BASIC: String(!!o.taxii.basic) } : {}),
      ...o.env,
    },
  });
  const ca = readFileSync(pki.ca.cert, 'utf8');
  let controller: RunningController | undefined;
  const grid: DevGrid = {
    workDir, domain, pki, server, profile, prosody: server, cfg, policiesDir,
    get controller() {
      return controller;
    },
    connect(name, opts = {}) {
      const n = pki.nodes[name];
      if (!n) throw new Error(`no certificate for node ${name}`);
      return connectNode({ service: `xmpps://127.0.0.1:${server.ports.c2sTls}`, domain, certFile: n.cert, keyFile: n.key, ca, ...opts });
    },
    async startController(log) {
      controller = await startController(cfg, log ?? o.log ?? silentLogger());
      return controller;
    },
    async stopController() {
      await controller?.stop();
      controller = undefined;
    },
    async stop() {
      await grid.stopController();
      await server.stop();
      if (!o.keep) rmSync(workDir, { recursive: true, force: true });
    },
  };
  if (o.controller !== false) {
    try {
      await grid.startController();
    } catch (err) {
      await server.stop();
      throw err;
    }
  }
  return grid;
}
