// The demo's grid nodes: who they are, how they register and get approved (by a policy entry
// or by the administrator through the `grid-controller` command), and what consumers receive.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GridClient, type GridEvent, type ItemEvent } from '../agent/index.js';
import type { DevGrid } from './devgrid.js';
import type { DevPkiNode } from '../identity/types.js';
import type { DemoNode, ObjectCounts } from './demo-types.js';
import { addObjects, emptyCounts, objectsOf } from './demo-data.js';

export const DEMO_TOPIC = 'threat-intel/attack-patterns';

export const DEMO_NODES: readonly DemoNode[] = [
  { name: 'sandbox1', ou: 'malware-lab', role: 'provider', deviceType: 'sandbox', groups: ['providers'],
    story: 'a sandbox that publishes ATT&CK for ICS' },
  { name: 'soc1', ou: 'soc', role: 'consumer', deviceType: 'siem',
    story: 'the SOC SIEM: takes everything' },
  { name: 'soc2', ou: 'soc', role: 'consumer', deviceType: 'ids', filter: { type: ['attack-pattern'], tlp: ['clear', 'green'] },
    story: 'the SOC IDS: only attack-patterns marked TLP:CLEAR or GREEN' },
  { name: 'partner1', ou: 'partners', role: 'consumer', deviceType: 'siem', groups: ['partners'], adminApproves: ['partners'],
    story: 'a partner SIEM: needs an administrator; policy caps it at TLP:GREEN' },
];

/** Spare certificates for nodes a person connects with `grid-node` while the demo stays up. */
export const GUEST_NODES: readonly DevPkiNode[] = [{ name: 'guest1', OU: 'soc' }, { name: 'guest2', OU: 'malware-lab' }];

export function pkiNodes(): DevPkiNode[] {
  return [...DEMO_NODES.map((n) => ({ name: n.name, OU: n.ou })), ...GUEST_NODES];
}

export async function connectClient(grid: DevGrid, name: string): Promise<GridClient> {
  const n = grid.pki.nodes[name];
  if (!n) throw new Error(`no certificate for demo node ${name}`);
  return GridClient.connect({
    service: `xmpps://127.0.0.1:${grid.server.ports.c2sTls}`, domain: grid.domain,
    certFile: n.cert, keyFile: n.key, ca: readFileSync(grid.pki.ca.cert, 'utf8'), reconnect: false,
  });
}

/** Rejects as soon as the signal aborts, so no wait outlives Ctrl-C. */
export function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new AbortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); });
  });
}

export class AbortError extends Error {
  constructor() { super('stopped (Ctrl-C)'); this.name = 'AbortError'; }
}

/** The first event matching `pred`, or an error naming what did not come within timeoutMs. */
export function nextEvent<E extends GridEvent>(c: GridClient, pred: (e: GridEvent) => e is E, what: string, timeoutMs = 10_000): Promise<E> {
  return new Promise<E>((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`${what} did not come within ${timeoutMs} ms`)); }, timeoutMs);
    const off = c.onEvent((e) => { if (pred(e)) { clearTimeout(timer); off(); resolve(e); } });
  });
}

/** `grid-controller accounts approve JID --groups …`, run as an administrator would, against the running controller. */
export function adminApprove(grid: DevGrid, jid: string, groups: string[], signal?: AbortSignal): Promise<{ command: string; output: string }> {
  const cli = fileURLToPath(new URL('../cli/grid-controller.js', import.meta.url));
  const args = ['accounts', 'approve', jid, '--groups', groups.join(',')];
  const env = { ...process.env, GRID_DATA: grid.cfg.data, GRID_POLICIES: grid.cfg.policies, GRID_ADMIN_SOCKET: grid.cfg.admin.socket };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', (err) => reject(err.name === 'AbortError' ? new AbortError() : err));
    child.on('close', (code) => (code === 0
      ? resolve({ command: `grid-controller ${args.join(' ')}`, output: out.trim() })
      : reject(new Error(`grid-controller accounts approve exited ${code}: ${out.trim()}`))));
  });
}

/** What one consumer received: counts, and the item ids, so the end of the replay can be awaited. */
export class Receiver {
  readonly counts: ObjectCounts = emptyCounts();
  /** item id → number of content objects received in it. */
  readonly items = new Map<string, number>();
  /** The TLP cap the permitting policy rule puts on this node, e.g. "TLP:GREEN, unmarked cut". */
  cap: string | undefined;
  private waiter: (() => void) | undefined;

  constructor(readonly node: DemoNode, readonly client: GridClient, readonly topic: string) {
    client.onEvent((e) => { if (e.kind === 'item' && e.topic === topic) this.take(e); });
  }

  private take(e: ItemEvent): void {
    const before = this.counts.objects;
    addObjects(this.counts, objectsOf(e.payload));
    this.items.set(e.id, this.counts.objects - before);
    this.waiter?.();
  }

  /** Resolves once every id arrived; else, after timeoutMs, with the ids still missing. */
  waitFor(ids: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<string[]> {
    const missing = () => ids.filter((id) => !this.items.has(id));
    return abortable(new Promise<string[]>((resolve) => {
      const timer = setTimeout(() => { this.waiter = undefined; resolve(missing()); }, timeoutMs);
      const check = () => { if (missing().length === 0) { clearTimeout(timer); this.waiter = undefined; resolve([]); } };
      this.waiter = check;
      check();
    }), signal);
  }
}
