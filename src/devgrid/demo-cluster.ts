// `bash scripts/demo.sh --cluster`: a cluster of two controllers (docs/protocol.md §14) on
// ejabberd + PostgreSQL, shown live: a sandbox replays indicators, one controller is killed
// with SIGKILL in the middle, the other keeps answering, the killed one is restarted and
// rejoins, and the summary shows that nothing acknowledged was lost (every item stored once,
// every subscriber has every item: live, or through an after_seq query).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import pg from 'pg';
import { startDevGrid, type DevGrid } from './devgrid.js';
import { startPostgres, type PgServer } from './postgres.js';
import { signChallenge } from '../identity/pop.js';
import type { NodeConnection } from '../agent/types.js';
import { adminRequest } from '../admin/client.js';
import { renderStatus } from '../cli/status.js';

const CLI = fileURLToPath(new URL('../cli/grid-controller.js', import.meta.url));
const PS = 'http://jabber.org/protocol/pubsub';
const EV = `${PS}#event`;
const GRID = 'urn:xmpp-grid:0';
const T = 'threat-intel/indicators';
let seq = 0;
const say = (s: string) => process.stdout.write(`${s}\n`);

interface Instance { child: ChildProcess; exited: Promise<unknown> }

function startInstance(grid: DevGrid, pgs: PgServer, i: number): Promise<Instance> {
  const g = grid.cfg;
  const env = {
    ...process.env, GRID_XMPP_SERVICE: g.xmpp.service, GRID_XMPP_DOMAIN: g.xmpp.domain, GRID_XMPP_SECRET: g.xmpp.secret, GRID_TRUST_CA: grid.pki.ca.cert,
    GRID_POLICIES: g.policies, GRID_DATA: join(grid.workDir, `instance${i}`), GRID_STORE_KIND: 'postgres', GRID_STORE_URL: pgs.url, GRID_LOG_LEVEL: 'info',
  };
  const child = spawn(process.execPath, [CLI, 'start'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      if (buf.includes('component online')) {
        buf = '';
        resolve({ child, exited });
      }
      if (buf.length > 1e6) buf = buf.slice(-1000);
    });
    void exited.then(() => reject(new Error(`controller ${i} exited before it came online`)));
  });
}

const iq = (type: 'get' | 'set', child: Element) => xml('iq', { type, to: 'controller.grid.test', id: `d${++seq}` }, child);

async function register(c: NodeConnection, files: { cert: string; key: string }, deviceType: string, groups: string[]): Promise<void> {
  const q = (await c.iq(iq('get', xml('query', { xmlns: 'jabber:iq:register' })))).getChild('query', 'jabber:iq:register')!;
  const challenge = q.getChild('x', 'jabber:x:data')!.getChildren('field').find((f) => f.attrs.var === 'challenge')!.getChildText('value')!;
  const field = (v: string, values: string[]) => xml('field', { var: v }, ...values.map((x) => xml('value', {}, x)));
  await c.iq(iq('set', xml('query', { xmlns: 'jabber:iq:register' }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
    field('FORM_TYPE', ['urn:xmpp-grid:0#register']), field('challenge', [challenge]),
    field('certificate', readFileSync(files.cert, 'utf8').trim().split('\n')), field('signature', [signChallenge(readFileSync(files.key, 'utf8'), challenge)]),
    field('groups', groups), field('device-type', [deviceType])))));
}

const bundle = (n: number) => JSON.stringify({
  type: 'bundle', id: `bundle--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  objects: [{ type: 'indicator', spec_version: '2.1', id: `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, created: '2026-01-01T00:00:00.000Z',
    modified: '2026-01-01T00:00:00.000Z', name: `C2 domain ${n}`, pattern: `[domain-name:value = 'c2-${n}.example']`, pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z' }],
});

async function queryAll(c: NodeConnection): Promise<Set<string>> {
  const field = (v: string, value: string) => xml('field', { var: v }, xml('value', {}, value));
  const r = await c.iq(iq('get', xml('query', { xmlns: GRID, node: T }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
    field('FORM_TYPE', 'urn:xmpp-grid:0#query'), field('after_seq', '0')), xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('max', {}, '1000')))));
  return new Set(r.getChild('query', GRID)!.getChildren('item').map((i) => i.attrs.id as string));
}

export async function runClusterDemo(o: { items?: number; killAt?: number } = {}): Promise<number> {
  const items = o.items ?? 60;
  const killAt = o.killAt ?? Math.floor(items / 3);
  say('cluster demo: PostgreSQL, ejabberd 23.01, two controllers as one component (docs/protocol.md §14)');
  const pgs = await startPostgres();
  let grid: DevGrid | undefined;
  const inst: (Instance | undefined)[] = [];
  const conns: NodeConnection[] = [];
  try {
    grid = await startDevGrid({ server: 'ejabberd', controller: false, nodes: [{ name: 'sandbox', OU: 'malware-lab', keyType: 'ec' }, { name: 'soc1', OU: 'soc', keyType: 'ec' }, { name: 'soc2', OU: 'soc', keyType: 'ec' }] });
    for (const i of [0, 1]) inst[i] = await startInstance(grid, pgs, i);
    say(`  controllers A (pid ${inst[0]!.child.pid}) and B (pid ${inst[1]!.child.pid}) online on ${pgs.url.replace(/\?.*$/, '')}`);
    const [sandbox, soc1, soc2] = await Promise.all(['sandbox', 'soc1', 'soc2'].map((n) => grid!.connect(n)));
    conns.push(sandbox!, soc1!, soc2!);
    await register(sandbox!, grid.pki.nodes.sandbox!, 'sandbox', ['providers']);
    for (const [c, n] of [[soc1!, 'soc1'], [soc2!, 'soc2']] as const) await register(c, grid.pki.nodes[n]!, 'siem', []);
    const live = new Map<NodeConnection, Set<string>>();
    for (const s of [soc1!, soc2!]) {
      await s.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('subscribe', { node: T, jid: s.jid }))));
      const got = new Set<string>();
      live.set(s, got);
      s.on('stanza', (st: Element) => {
        const id = st.getChild('event', EV)?.getChild('items')?.getChild('item')?.attrs.id as string | undefined;
        if (id) got.add(id);
      });
    }
    say(`  sandbox replays ${items} indicators; soc1 and soc2 subscribe to ${T}`);
    const acked: string[] = [];
    let retried = 0;
    let firstAfterKill = -1;
    let killedAt = 0;
    for (let k = 0; k < items; k++) {
      if (k === killAt) {
        inst[0]!.child.kill('SIGKILL');
        await inst[0]!.exited;
        killedAt = Date.now();
        say(`  >>> kill -9 controller A after ${k} acknowledged items`);
      }
      const id = `demo-${k}`;
      for (let attempt = 1; ; attempt++) {
        try {
          await sandbox!.iq(iq('set', xml('pubsub', { xmlns: PS }, xml('publish', { node: T }, xml('item', { id }, xml('json', { xmlns: 'urn:xmpp:json:0' }, bundle(k)))))), 2000);
          break;
        } catch (e) {
          if (attempt >= 20) throw e;
          retried++;
          say(`      ${id}: no answer (${(e as Error).message}); the sandbox publishes it again`);
        }
      }
      if (k === killAt) {
        firstAfterKill = Date.now() - killedAt;
        say(`  <<< the grid answered ${firstAfterKill} ms after the kill (controller B)`);
      }
      acked.push(id);
      if ((k + 1) % 20 === 0) say(`  ${k + 1} acknowledged`);
    }
    say('  restarting controller A');
    inst[0] = await startInstance(grid, pgs, 0);
    const db = new pg.Pool({ connectionString: pgs.url, max: 1 });
    const stored = (await db.query<{ id: string; n: number }>("SELECT id, count(*)::int AS n FROM items WHERE topic = $1 AND id LIKE 'demo-%' GROUP BY id", [T])).rows;
    await db.end();
    const once = stored.filter((r) => r.n === 1).length;
    say('');
    say(`summary: ${acked.length} items acknowledged (${retried} publishes repeated after the kill), ${stored.length} stored, ${once} exactly once`);
    let ok = stored.length === acked.length && once === acked.length;
    for (const [s, got] of live) {
      const q = await queryAll(s);
      const missingLive = acked.filter((id) => !got.has(id));
      const missing = missingLive.filter((id) => !q.has(id));
      say(`  ${s.jid.split('/')[0]}: ${acked.length - missingLive.length} received live, ${missingLive.length - missing.length} through after_seq catch-up, ${missing.length} missing`);
      if (missing.length) ok = false;
    }
    // Asked of the restarted instance: its list was read as it joined (the dead instance's row went then).
    const st = await adminRequest(join(grid.workDir, 'instance0', 'admin.sock'), 'status', {});
    if (st.ok) for (const l of renderStatus(st.result).filter((l) => /^cluster|^ {2}[* ] /.test(l))) say(l);
    say(ok ? 'nothing acknowledged was lost' : 'SOMETHING WAS LOST');
    return ok ? 0 : 1;
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    for (const i of inst) {
      if (i && i.child.exitCode === null && i.child.signalCode === null) {
        i.child.kill('SIGTERM');
        await i.exited;
      }
    }
    await grid?.stop();
    await pgs.stop();
  }
}
