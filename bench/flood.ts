// The flood workload (issue 16 item 2): one node floods the controller with disco#info and
// publishes, `window` in flight for as long as it can, while another node (the fleet's
// publisher, an ordinary node) sends one request at a time. Figures: the victim's p99
// during the flood ÷ its p99 alone (target ≤ 2), and whether the controller's RSS is back
// within 10 % of its pre-flood value after `settleS` (target: a minute; --quick settles less).
import { WorkerProc, type Fleet } from './fleet.js';
import type { Flooded, NodeFiles, Probed } from './fleet-types.js';
import { Histogram, ratio, summarise, type LatencySummary } from './stats.js';
import { cpuSeconds, procMemory } from './procs.js';
import { FLOOD_TOPIC, VICTIM_TOPIC } from './payloads.js';
import { adminRequest } from '../src/admin/client.js';
import type { Cleanup } from './procs.js';
import type { ProcessFigures } from '../src/admin/process-stats.js';

export interface FloodParams { seconds: number; settleS: number; window: number; intervalMs: number }

export type VictimFigures = LatencySummary & { requests: number; errors: number; first_error?: string; disco_info_p99_ms?: number; publish_p99_ms?: number };

export interface FloodResult {
  seconds: number; window: number; settle_s: number;
  victim_alone: VictimFigures;
  victim_during: VictimFigures;
  victim_p99_ratio?: number;
  flooder: Flooded & { per_s: number };
  rss_before_mb?: number; rss_during_mb?: number; rss_after_mb?: number; rss_recovered: boolean;
  /** CPU seconds used while the victim measured during the flood. */
  cpu_s_during: { controller?: number; prosody?: number; flooder?: number };
  /** The controller's heap, event-loop delay and GC pauses (each a window since the previous read). */
  controller_process: { before?: ProcessFigures; during?: ProcessFigures; after?: ProcessFigures };
  controller?: unknown;
}

function summary(p: Probed) {
  return {
    ...summarise(Histogram.fromSparse(p.hist)), requests: p.count, errors: p.errors, ...(p.firstError ? { first_error: p.firstError } : {}),
    disco_info_p99_ms: Histogram.fromSparse(p.disco).percentile(99), publish_p99_ms: Histogram.fromSparse(p.publish).percentile(99),
  };
}

export async function floodWorkload(o: {
  fleet: Fleet; files: NodeFiles; service: string; domain: string; caFile: string; controller: string; ctlPid: number; prosodyPid: number; adminSocket: string;
  cleanup: Cleanup; p: FloodParams; log: (m: string) => void;
}): Promise<FloodResult> {
  const { fleet, p, controller, log } = o;
  const flooder = new WorkerProc('flooder');
  o.cleanup.add('flooder', () => flooder.kill());
  await flooder.call({ op: 'connect', service: o.service, domain: o.domain, caFile: o.caFile, nodes: [o.files] });
  const states = await flooder.call<string[]>({ op: 'register', controller });
  if (!states.every((s) => s.endsWith(':approved'))) throw new Error(`the flooder was not approved: ${states.join(', ')}`);
  const probe = { op: 'probe' as const, to: controller, topic: VICTIM_TOPIC, seconds: p.seconds, intervalMs: p.intervalMs };
  log(`flood: victim alone for ${p.seconds} s`);
  const alone = await fleet.pub.call<Probed>(probe, (p.seconds + 60) * 1000);
  const processNow = async () => {
    const st = await adminRequest(o.adminSocket, 'stats', {});
    return st.ok ? (st.result as { process?: ProcessFigures }).process : undefined;
  };
  const before = procMemory(o.ctlPid);
  const heapBefore = await processNow();
  const cpu0 = { c: cpuSeconds(o.ctlPid), p: cpuSeconds(o.prosodyPid), f: cpuSeconds(flooder.child.pid!) };
  log(`flood: one node floods (${p.window} in flight) for ${p.seconds} s while the victim goes on`);
  const flooding = flooder.call<Flooded>({ op: 'flood', to: controller, topic: FLOOD_TOPIC, seconds: p.seconds + 1, window: p.window }, (p.seconds + 120) * 1000);
  const during = await fleet.pub.call<Probed>(probe, (p.seconds + 60) * 1000);
  const duringMem = procMemory(o.ctlPid);
  const heapDuring = await processNow();
  const cpu1 = { c: cpuSeconds(o.ctlPid), p: cpuSeconds(o.prosodyPid), f: cpuSeconds(flooder.child.pid!) };
  const cpu = (k: 'c' | 'p' | 'f') => (cpu0[k] !== undefined && cpu1[k] !== undefined ? +(cpu1[k]! - cpu0[k]!).toFixed(2) : undefined);
  const flooded = await flooding;
  log(`flood: ${flooded.sent} requests in ${flooded.seconds} s, ${flooded.answered} answered; settling ${p.settleS} s`);
  await new Promise((r) => setTimeout(r, p.settleS * 1000)); // the figure is RSS after this long
  const after = procMemory(o.ctlPid);
  const heapAfter = await processNow();
  const stats = await adminRequest(o.adminSocket, 'stats', {});
  await flooder.call({ op: 'close' }, 5000).catch(() => undefined);
  flooder.kill();
  const a = summary(alone);
  const d = summary(during);
  return {
    seconds: p.seconds, window: p.window, settle_s: p.settleS,
    victim_alone: a, victim_during: d, victim_p99_ratio: ratio(d.p99_ms, a.p99_ms),
    flooder: { ...flooded, per_s: Math.round(flooded.sent / Math.max(0.001, flooded.seconds)) },
    rss_before_mb: before?.rss_mb, rss_during_mb: duringMem?.rss_mb, rss_after_mb: after?.rss_mb,
    rss_recovered: !!before && !!after && after.rss_mb <= before.rss_mb * 1.1,
    cpu_s_during: { controller: cpu('c'), prosody: cpu('p'), flooder: cpu('f') },
    controller_process: { before: heapBefore, during: heapDuring, after: heapAfter },
    controller: stats.ok ? stats.result : { error: stats.error },
  };
}
