// A cluster of controllers for integration tests (docs/protocol.md §14): a real PostgreSQL, a
// real ejabberd 23.01 with domain_balancing for N component connections, and N controllers on
// store.kind postgres, each with its own data folder and admin socket, in this process.
import { join } from 'node:path';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createCrl } from '../../src/identity/issue.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startDevGrid, type DevGrid } from '../../src/devgrid/devgrid.js';
import type { DevPkiNode } from '../../src/identity/types.js';
import type { Config } from '../../src/config/types.js';
import { startController, type RunningController } from '../../src/main.js';
import pino from 'pino';
import { createLogger, silentLogger } from '../../src/log.js';
import type { NodeConnection } from '../../src/agent/types.js';
import { startPostgres, type PgServer } from './postgres.js';
import { CTL, id } from './grid-client.js';

export const PS = 'http://jabber.org/protocol/pubsub';
export const EV = 'http://jabber.org/protocol/pubsub#event';
export const NS_GRID = 'urn:xmpp-grid:0';
export const T = 'threat-intel/indicators';

export interface TestCluster {
  pg: PgServer;
  grid: DevGrid;
  ctl: (RunningController | undefined)[];
  cfg: Config[];
  /** With `crl`: replaces the CRL every instance watches with one listing `serials`. */
  writeCrl?: (serials: string[]) => void;
  /** Starts instance i (again). */
  start(i: number): Promise<RunningController>;
  /** Which instance a node's stanzas reach (the one that heard it), or -1. */
  routeOf(c: NodeConnection): number;
  stop(): Promise<void>;
}

/** `crl`: the instances watch one CRL file (empty at first), `<workDir>/trust.crl`. */
export async function startCluster(nodes: DevPkiNode[], n = 2, opts: { crl?: boolean } = {}): Promise<TestCluster> {
  const pg = await startPostgres();
  let grid: DevGrid;
  try {
    grid = await startDevGrid({ server: 'ejabberd', componentNumber: n, controller: false, nodes, env: { GRID_STORE_KIND: 'postgres', GRID_STORE_URL: pg.url } });
  } catch (e) {
    await pg.stop();
    throw e;
  }
  const crlFile = join(grid.workDir, 'trust.crl');
  // As a CRL should be installed: written aside, then renamed over the old one.
  const writeCrl = (serials: string[]) => {
    const ca = { certPem: readFileSync(grid.pki.ca.cert, 'utf8'), keyPem: readFileSync(grid.pki.ca.key, 'utf8') };
    writeFileSync(`${crlFile}.tmp`, createCrl(ca, serials));
    renameSync(`${crlFile}.tmp`, crlFile);
  };
  if (opts.crl) writeCrl([]);
  const cfg = Array.from({ length: n }, (_, i): Config => {
    const data = join(grid.workDir, `instance${i}`);
    return { ...grid.cfg, data, admin: { socket: join(data, 'admin.sock') }, ...(opts.crl ? { trust: { ...grid.cfg.trust, crl: [crlFile] } } : {}) };
  });
  const c: TestCluster = {
    pg, grid, cfg, ctl: Array.from({ length: n }, () => undefined), ...(opts.crl ? { writeCrl } : {}),
    async start(i) {
      // GRID_TEST_CLUSTER_LOG=<file>: the instances' logs, for a failing run.
      const file = process.env.GRID_TEST_CLUSTER_LOG;
      const log = file ? createLogger({ level: 'debug', destination: pino.destination({ dest: `${file}.${i}`, sync: true, append: true }) }) : silentLogger();
      const r = await startController(cfg[i]!, log);
      c.ctl[i] = r;
      return r;
    },
    routeOf(conn) {
      const bare = conn.jid.split('/')[0]!;
      return c.ctl.findIndex((x) => x?.ops.seen.get(bare).lastSeen);
    },
    async stop() {
      for (const x of c.ctl) await x?.stop().catch(() => undefined);
      await grid.stop();
      await pg.stop();
    },
  };
  try {
    for (let i = 0; i < n; i++) await c.start(i);
  } catch (e) {
    await c.stop();
    throw e;
  }
  return c;
}

export const bundle = (n: number, tag = 'c') => ({
  type: 'bundle', id: `bundle--7a1d7c6e-3b65-4a2c-9a43-${String(n).padStart(12, '0')}`,
  objects: [{
    type: 'indicator', spec_version: '2.1', id: `indicator--7b1e8f4c-3c2a-4d7e-9f10-${String(n).padStart(12, '0')}`,
    created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', name: `cluster ${tag} ${n}`,
    pattern: `[domain-name:value = 'c2-${n}.example']`, pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z',
  }],
});

export const iq = (type: 'get' | 'set', child: Element) => xml('iq', { type, to: CTL, id: id('c') }, child);

export function publish(c: NodeConnection, itemId: string, n: number, node = T): Promise<Element> {
  return c.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('publish', { node }, xml('item', { id: itemId }, xml('json', { xmlns: 'urn:xmpp:json:0' }, JSON.stringify(bundle(n))))))));
}

export async function subscribe(c: NodeConnection, node = T): Promise<string> {
  const r = await c.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('subscribe', { node, jid: c.jid }))));
  return r.getChild('pubsub', PS)!.getChild('subscription')!.attrs.subid as string;
}

export const itemIdOf = (s: Element): string | undefined =>
  s.name === 'message' ? (s.getChild('event', EV)?.getChild('items')?.getChild('item')?.attrs.id as string | undefined) : undefined;

/** §7 query with after_seq: [id, seq] of every stored item after `after`, paging to the end. */
export async function queryAfter(c: NodeConnection, after: number, node = T): Promise<[string, number][]> {
  const out: [string, number][] = [];
  for (let from = after; ;) {
    const field = (v: string, value: string) => xml('field', { var: v }, xml('value', {}, value));
    const r = await c.iq(iq('get', xml('query', { xmlns: NS_GRID, node },
      xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, field('FORM_TYPE', 'urn:xmpp-grid:0#query'), field('after_seq', String(from))),
      xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('max', {}, '1000')))));
    const items = r.getChild('query', NS_GRID)!.getChildren('item').map((i): [string, number] => [i.attrs.id as string, Number(i.attrs.seq)]);
    out.push(...items);
    if (items.length < 1000) return out;
    from = items[items.length - 1]![1];
  }
}

/** A controller instance in its own process (`grid-controller start`), for kill -9. */
export interface InstanceProcess {
  child: ChildProcess;
  exited: Promise<unknown>;
  /** Every stdout line so far (JSON logs). */
  lines: string[];
  /** Resolves with the first line (so far or later) matching. */
  line(pred: (l: string) => boolean): Promise<string>;
}

const CLI = join(process.cwd(), 'dist/src/cli/grid-controller.js');

/** The environment instance `i` of the cluster `c` runs with (its own data folder and admin socket). */
export function instanceEnv(c: { grid: DevGrid; pg: PgServer; cfg: Config[] }, i: number): NodeJS.ProcessEnv {
  const g = c.grid.cfg;
  return {
    ...process.env, GRID_XMPP_SERVICE: g.xmpp.service, GRID_XMPP_DOMAIN: g.xmpp.domain, GRID_XMPP_SECRET: g.xmpp.secret,
    GRID_TRUST_CA: c.grid.pki.ca.cert, GRID_POLICIES: g.policies, GRID_DATA: c.cfg[i]!.data, GRID_STORE_KIND: 'postgres', GRID_STORE_URL: c.pg.url,
    GRID_LOG_LEVEL: process.env.GRID_TEST_CLUSTER_LOG ? 'debug' : 'info',
  };
}

export function spawnInstance(env: NodeJS.ProcessEnv): InstanceProcess {
  const child = spawn(process.execPath, [CLI, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const l of parts) {
      lines.push(l);
      for (const w of waiting) w(l);
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit');
  return {
    child, exited, lines,
    line: (pred) => new Promise<string>((resolve, reject) => {
      const hit = lines.find(pred);
      if (hit) return resolve(hit);
      waiting.push((l) => pred(l) && resolve(l));
      void exited.then(() => reject(new Error(`instance exited before the line; stderr: ${stderr}; stdout: ${lines.slice(-5).join('\n')}`)));
    }),
  };
}

/**
 * A cluster whose instances run as processes (kill -9 them). `balancing`: `bare_source` pins each
 * node to one of n slots (a dead instance's nodes wait for its restart); `random` (no
 * domain_balancing) spreads stanzas over the live connections (a dead one's share moves at once).
 */
export async function startProcessCluster(nodes: DevPkiNode[], n = 2, balancing: 'bare_source' | 'random' = 'random'): Promise<{ pg: PgServer; grid: DevGrid; cfg: Config[]; procs: (InstanceProcess | undefined)[]; start(i: number): Promise<InstanceProcess>; stop(): Promise<void> }> {
  const pg = await startPostgres();
  let grid: DevGrid;
  try {
    grid = await startDevGrid({ server: 'ejabberd', ...(balancing === 'bare_source' ? { componentNumber: n } : {}), controller: false, nodes, env: { GRID_STORE_KIND: 'postgres', GRID_STORE_URL: pg.url } });
  } catch (e) {
    await pg.stop();
    throw e;
  }
  const cfg = Array.from({ length: n }, (_, i): Config => {
    const data = join(grid.workDir, `instance${i}`);
    return { ...grid.cfg, data, admin: { socket: join(data, 'admin.sock') } };
  });
  const procs: (InstanceProcess | undefined)[] = Array.from({ length: n }, () => undefined);
  const c = {
    pg, grid, cfg, procs,
    async start(i: number) {
      const p = spawnInstance(instanceEnv({ grid, pg, cfg }, i));
      procs[i] = p;
      await p.line((l) => l.includes('component online'));
      return p;
    },
    async stop() {
      for (const p of procs) {
        if (p && p.child.exitCode === null && p.child.signalCode === null) {
          p.child.kill('SIGTERM');
          await p.exited;
        }
      }
      await grid.stop();
      await pg.stop();
    },
  };
  try {
    for (let i = 0; i < n; i++) await c.start(i);
  } catch (e) {
    await c.stop();
    throw e;
  }
  return c;
}

export function publishStanza(itemId: string, n: number, node = T): Element {
  return iq('set', xml('pubsub', { xmlns: PS }, xml('publish', { node }, xml('item', { id: itemId }, xml('json', { xmlns: 'urn:xmpp:json:0' }, JSON.stringify(bundle(n)))))));
}
