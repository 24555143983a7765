// Parent side of the bench clients: forks worker processes, spreads the nodes over them and
// talks to them with request/response over IPC. Every request has a deadline.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientFilter, Collected, NodeFiles, Published, PublishSpec, WorkerRequest } from './fleet-types.js';
import { Histogram, nowMs } from './stats.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

export class WorkerProc {
  private rid = 0;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  readonly child: ChildProcess;
  doneListener: (() => void) | undefined;
  exited = false;

  constructor(readonly name: string) {
    this.child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: { rid?: number; result?: unknown; error?: string; event?: string }) => {
      if (m.event === 'done') { this.doneListener?.(); return; }
      const p = m.rid !== undefined ? this.pending.get(m.rid) : undefined;
      if (!p) return;
      this.pending.delete(m.rid!);
      clearTimeout(p.timer);
      if (m.error) p.reject(new Error(`${this.name}: ${m.error}`));
      else p.resolve(m.result);
    });
    this.child.on('exit', (code) => {
      this.exited = true;
      for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(new Error(`${this.name} exited (code ${code})`)); }
      this.pending.clear();
    });
  }

  call<T>(req: WorkerRequest, timeoutMs = 120_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const rid = ++this.rid;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new Error(`${this.name}: no answer to ${req.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(rid, { resolve, reject, timer });
      this.child.send({ ...req, rid });
    });
  }

  kill(): void {
    if (!this.exited && this.child.pid) this.child.kill('SIGKILL');
  }
}

export interface FleetOptions { service: string; domain: string; caFile: string; publisher: NodeFiles; subscribers: NodeFiles[]; workers: number }

/** One publisher process and `workers` subscriber processes. */
export class Fleet {
  readonly pub: WorkerProc;
  readonly subs: WorkerProc[];
  subscriberJids: string[] = [];

  constructor(private readonly o: FleetOptions) {
    this.pub = new WorkerProc('publisher');
    this.subs = Array.from({ length: o.workers }, (_, i) => new WorkerProc(`subscribers-${i}`));
  }

  get all(): WorkerProc[] { return [this.pub, ...this.subs]; }

  async connect(): Promise<void> {
    const base = { op: 'connect' as const, service: this.o.service, domain: this.o.domain, caFile: this.o.caFile };
    await this.pub.call({ ...base, nodes: [this.o.publisher] });
    const shares = this.subs.map((_, w) => this.o.subscribers.filter((_, i) => i % this.subs.length === w));
    const jids = await Promise.all(this.subs.map((s, w) => s.call<string[]>({ ...base, nodes: shares[w]! })));
    this.subscriberJids = jids.flat().map((j) => j.split('/')[0]!);
  }

  onSubs<T>(req: WorkerRequest, timeoutMs?: number): Promise<T[]> {
    return Promise.all(this.subs.map((s) => s.call<T>(req, timeoutMs)));
  }

  /**
   * Arms the counters, runs the publish and waits for every expected delivery — or, where the
   * count is not known in advance (`expectedPerSub` undefined: W2's cuts), until the publish
   * finished and nothing arrived for `settleMs`. `idleMs` without progress or `deadlineMs`
   * in all end it too, marked incomplete.
   */
  async run(spec: PublishSpec, expectedPerSub: ((w: number) => number) | undefined, o: { idleMs: number; settleMs: number; deadlineMs: number; progress: (n: number) => void;
    /** W2: what each filter group is owed (the workers sum it over their nodes), client-side cutting, object counting. */
    arm?: { expectedByGroup?: number[]; clientFilter?: ClientFilter; countObjects?: boolean } }): Promise<{ pub: Published; collected: Collected[]; complete: boolean }> {
    const known = expectedPerSub !== undefined || o.arm?.expectedByGroup !== undefined;
    const armed = await Promise.all(this.subs.map((s, w) => s.call<number>({ op: 'arm', tag: spec.tag, expected: expectedPerSub ? expectedPerSub(w) : Number.MAX_SAFE_INTEGER, ...o.arm })));
    let waiting = 0;
    const allDone = new Promise<void>((resolve) => {
      this.subs.forEach((s, w) => {
        if (armed[w] === 0) return;
        waiting++;
        s.doneListener = () => { s.doneListener = undefined; if (--waiting === 0) resolve(); };
      });
      if (waiting === 0) resolve();
    });
    let pubDone = false;
    const t0 = nowMs();
    const published = this.pub.call<Published>({ op: 'publish', spec }, o.deadlineMs)
      // A publish that failed or ran out of time still has a start: the rate stays measurable.
      .catch((e: Error): Published => ({ t0, t1: nowMs(), errors: -1, firstError: e.message }))
      .finally(() => { pubDone = true; });
    let complete = false;
    let lastCount = -1;
    let lastChange = Date.now();
    const start = Date.now();
    const finished = allDone.then(() => { complete = true; });
    // Progress and the idle/deadline checks: a missing delivery must not hang the bench.
    for (;;) {
      const tick = new Promise((r) => setTimeout(r, 1000));
      await Promise.race([finished, tick]);
      if (complete) break;
      const n = (await this.onSubs<number>({ op: 'count' })).reduce((a, b) => a + b, 0);
      o.progress(n);
      if (n !== lastCount) { lastCount = n; lastChange = Date.now(); }
      const idle = Date.now() - lastChange;
      if (!known && pubDone && idle >= o.settleMs) { complete = true; break; }
      if (idle > o.idleMs || Date.now() - start > o.deadlineMs) break;
    }
    const pub = await published;
    const collected = await this.onSubs<Collected>({ op: 'collect' });
    for (const s of this.subs) s.doneListener = undefined;
    return { pub, collected, complete };
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.call({ op: 'close' }, 5000).catch(() => undefined)));
    for (const w of this.all) w.kill();
  }

  kill(): void {
    for (const w of this.all) w.kill();
  }
}

export interface RunFigures { wire_bytes: number; objects: number; nodes: number; publish_s: number; deliveries: number; expected: number; complete: boolean; delivered_per_s: number; payload_mb_per_s: number; mean_payload_bytes: number; seconds: number; hist: Histogram; publish_errors: number; first_error?: string }

/** Deliveries ÷ (last delivery − first publish). */
export function figures(r: { pub: Published; collected: Collected[]; complete: boolean }, expected: number): RunFigures {
  const hist = new Histogram();
  let deliveries = 0;
  let bytes = 0;
  let wire = 0;
  let objects = 0;
  let nodes = 0;
  let last = 0;
  for (const c of r.collected) {
    deliveries += c.count;
    bytes += c.bytes;
    wire += c.wire;
    objects += c.objects;
    nodes += c.nodes;
    last = Math.max(last, c.last);
    for (const [b, n] of c.hist) { hist.counts[b]! += n; hist.total += n; }
  }
  const ms = last && r.pub.t0 ? last - r.pub.t0 : 0;
  return {
    wire_bytes: wire, objects, nodes, deliveries, expected, complete: r.complete, seconds: +(ms / 1000).toFixed(3), publish_s: +((r.pub.t1 - r.pub.t0) / 1000).toFixed(3),
    delivered_per_s: ms > 0 ? Math.round((deliveries * 1000) / ms) : 0, hist,
    payload_mb_per_s: ms > 0 ? +((bytes * 1000) / ms / 1e6).toFixed(3) : 0, mean_payload_bytes: deliveries ? Math.round(bytes / deliveries) : 0,
    publish_errors: r.pub.errors, ...(r.pub.firstError ? { first_error: r.pub.firstError } : {}),
  };
}
