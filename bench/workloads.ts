// The four workloads. Each takes the running grid + fleet and returns plain figures.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { Fleet, figures, type RunFigures } from './fleet.js';
import { Histogram, ratio, summarise, type LatencySummary } from './stats.js';
import { FANOUT_TOPIC, FILTERED_FIELDS, FILTERED_TOPIC, FILTER_GROUPS, MOD_PUBSUB_FILTERED_NODE, MOD_PUBSUB_NODE, STEADY_TOPIC, icsBundles } from './payloads.js';
import type { ClientFilter, PublishSpec } from './fleet-types.js';
import { parseStixPayload } from '../src/payloads/stix.js';
import { isFail } from '../src/result.js';
import { canonicalise, cutStix, makePredicate } from '../src/filters/index.js';
import { cpuSeconds, procMemory } from './procs.js';
import { benchPolicy } from './policy.js';
import { benchRegistrations } from './registrations.js';
import type { ScaleResult } from './scale.js';

export interface Params {
  subscribers: number; workers: number; w0Rounds: number; w1Items: number; w2Items: number; window: number;
  /** The steady workload's length. */
  steadySeconds: number;
  w3: { accounts: number; topics: number; subtopics: number; sequential: number }; decisions: number; registrations: number;
  icsFile: string;
  /** The flood workload (bench/flood.ts). */
  flood: { seconds: number; settleS: number; window: number; intervalMs: number };
  /** Items published to the mod_pubsub node with persist_items (Prosody's default). */
  pubsubPersistItems: number;
  only?: Set<string>;
}

export interface Measured extends LatencySummary {
  delivered_per_s: number; payload_mb_per_s: number; mean_payload_bytes: number; deliveries: number; publish_s: number; expected?: number; complete: boolean; seconds: number;
  publish_errors: number; first_error?: string; items?: number; ack_p50_ms?: number; ack_p99_ms?: number; wire_bytes_per_subscriber?: number; objects_kept?: number; persist_items?: boolean; clients_cpu_s?: number; controller_cpu_s?: number; prosody_cpu_s?: number; controller_rss_mb?: number;
}

export const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

function measured(f: RunFigures): Measured {
  return {
    delivered_per_s: f.delivered_per_s, payload_mb_per_s: f.payload_mb_per_s, mean_payload_bytes: f.mean_payload_bytes, deliveries: f.deliveries, ...(f.expected >= 0 ? { expected: f.expected } : {}), complete: f.complete,
    seconds: f.seconds, publish_s: f.publish_s, ...summarise(f.hist), publish_errors: f.publish_errors, ...(f.first_error ? { first_error: f.first_error } : {}),
  };
}

export interface Pids { controller?: number; prosody: number }

/** One publish run with CPU of controller and Prosody sampled around it. */
async function runOne(fleet: Fleet, spec: PublishSpec, perSub: number | undefined, pids: Pids, label: string, arm?: Parameters<Fleet['run']>[2]['arm']): Promise<Measured> {
  const shares = fleet.subs.map((_, w) => fleet.subscriberJids.filter((_, i) => i % fleet.subs.length === w).length);
  const expected = perSub === undefined ? -1 : perSub * fleet.subscriberJids.length;
  const clients = () => fleet.all.reduce((a, w) => a + (cpuSeconds(w.child.pid!) ?? 0), 0);
  const cpu0 = { c: pids.controller ? cpuSeconds(pids.controller) : undefined, p: cpuSeconds(pids.prosody), k: clients() };
  let lastLog = 0;
  const r = await fleet.run(spec, perSub === undefined ? undefined : (w) => perSub * shares[w]!, {
    idleMs: 30_000, settleMs: 3000, deadlineMs: 40 * 60_000, ...(arm ? { arm } : {}),
    progress: (n) => {
      if (Date.now() - lastLog < 5000) return;
      lastLog = Date.now();
      log(`${label}: ${n}${expected >= 0 ? ` / ${expected}` : ''} delivered`);
    },
  });
  const f = figures(r, arm?.expectedByGroup ? r.collected.reduce((a, c) => a + c.expected, 0) : expected);
  const m = measured(f);
  m.wire_bytes_per_subscriber = f.nodes ? Math.round(f.wire_bytes / f.nodes) : 0;
  if (arm) m.objects_kept = f.objects;
  if (r.pub.ack) { const a = summarise(Histogram.fromSparse(r.pub.ack)); m.ack_p50_ms = a.p50_ms; m.ack_p99_ms = a.p99_ms; }
  const cpu1 = { c: pids.controller ? cpuSeconds(pids.controller) : undefined, p: cpuSeconds(pids.prosody), k: clients() };
  m.clients_cpu_s = +(cpu1.k - cpu0.k).toFixed(2);
  if (cpu0.c !== undefined && cpu1.c !== undefined) m.controller_cpu_s = +(cpu1.c - cpu0.c).toFixed(2);
  if (cpu0.p !== undefined && cpu1.p !== undefined) m.prosody_cpu_s = +(cpu1.p - cpu0.p).toFixed(2);
  if (pids.controller) m.controller_rss_mb = procMemory(pids.controller)?.rss_mb;
  log(`${label}: ${m.deliveries} deliveries, ${m.delivered_per_s}/s, p99 ${m.p99_ms} ms${m.complete ? '' : ' (INCOMPLETE)'}`);
  return m;
}

const spec = (p: Params, tag: string, s: Partial<PublishSpec> & Pick<PublishSpec, 'to' | 'topic' | 'items'>): PublishSpec =>
  ({ mode: 'pubsub', kind: 'indicator', tag, window: p.window, ...s });

export function w0(fleet: Fleet, p: Params, pids: Pids): Promise<Measured> {
  return runOne(fleet, spec(p, 'w0', { mode: 'message', to: '', topic: '', items: p.w0Rounds, targets: fleet.subscriberJids }), p.w0Rounds, pids, 'W0 messages');
}

export async function w1Controller(fleet: Fleet, p: Params, pids: Pids, controller: string): Promise<Measured> {
  await fleet.onSubs({ op: 'subscribe', to: controller, topic: FANOUT_TOPIC });
  return runOne(fleet, spec(p, 'w1c', { to: controller, topic: FANOUT_TOPIC, items: p.w1Items }), p.w1Items, pids, 'W1 controller');
}

/**
 * Prosody's mod_pubsub, node created with max_items 256 (Prosody's pubsub_max_items ceiling).
 * `persist`: Prosody's default (items in its storage, here the default file store: every
 * publish past max_items rewrites the node's archive, so fewer items keep the run short —
 * the rate is steady once 256 items are stored); else items only in memory.
 */
export async function w1ModPubsub(fleet: Fleet, p: Params, pids: Pids, pubsubJid: string, persist: boolean): Promise<Measured> {
  const node = `${MOD_PUBSUB_NODE}-${persist ? 'persist' : 'memory'}`;
  const items = persist ? Math.min(p.w1Items, p.pubsubPersistItems) : p.w1Items;
  await fleet.pub.call({ op: 'create-node', to: pubsubJid, node, maxItems: 256, persist });
  await fleet.onSubs({ op: 'subscribe', to: pubsubJid, topic: node });
  const m = await runOne(fleet, spec(p, persist ? 'w1p' : 'w1m', { to: pubsubJid, topic: node, items }), items, pids, `W1 mod_pubsub (${persist ? 'persist_items' : 'in memory'})`);
  return { ...m, items, persist_items: persist };
}

/**
 * What each W2 filter group is owed when the bundles `0..items-1` (cycling) are published: the
 * notifications (bundles whose cut is not empty) and the objects in them, by the project's
 * filter code (the same cut the controller makes).
 */
export function w2Expectations(p: Params): { notifications: number[]; objects: number[] } {
  const bodies = icsBundles(p.icsFile, 30).map((b) => parseStixPayload(b));
  const keeps = FILTER_GROUPS.map((g) => makePredicate(canonicalise(g), {}, FILTERED_FIELDS));
  const notifications = keeps.map(() => 0);
  const objects = keeps.map(() => 0);
  for (let i = 0; i < p.w2Items; i++) {
    const parsed = bodies[i % bodies.length]!;
    if (isFail(parsed)) throw new Error('an ATT&CK for ICS bundle does not parse');
    keeps.forEach((k, g) => {
      const cut = cutStix(parsed.value, k);
      if (cut) { notifications[g]!++; objects[g]! += cut.count; }
    });
  }
  return { notifications, objects };
}

export interface W2Result {
  controller: Measured; mod_pubsub_client_filtering: Measured; time_ratio?: number; wire_ratio?: number;
  items: number; filter_groups: number; objects_expected: number; target_time_ratio: number;
}

/**
 * W2 (issue 15): the ATT&CK for ICS bundles to the subscribers in 10 filter groups, (a) through
 * the controller, which cuts per filter, (b) unfiltered from the server's in-memory mod_pubsub,
 * each subscriber cutting every bundle itself with the project's filter code. Figure: wall time
 * from the first publish until every subscriber holds what its filter selects.
 */
export async function w2(fleet: Fleet, p: Params, pids: Pids, controller: string, pubsubJid: string): Promise<W2Result> {
  const exp = w2Expectations(p);
  const groups = FILTER_GROUPS.length;
  // Node i of a worker subscribes with group i mod G (worker.ts), so the objects expected overall:
  const perWorker = fleet.subs.map((_, w) => fleet.subscriberJids.filter((_, i) => i % fleet.subs.length === w).length);
  const objectsExpected = perWorker.reduce((a, n) => a + Array.from({ length: n }, (_, i) => exp.objects[i % groups]!).reduce((x, y) => x + y, 0), 0);
  const ics = { kind: 'ics' as const, icsFile: p.icsFile, perBundle: 30, items: p.w2Items };
  await fleet.onSubs({ op: 'subscribe', to: controller, topic: FILTERED_TOPIC, filters: FILTER_GROUPS });
  const c = await runOne(fleet, spec(p, 'w2c', { to: controller, topic: FILTERED_TOPIC, ...ics }), undefined, pids, 'W2 controller (cut per filter)',
    { expectedByGroup: exp.notifications, countObjects: true });
  await fleet.pub.call({ op: 'create-node', to: pubsubJid, node: MOD_PUBSUB_FILTERED_NODE, maxItems: 256, persist: false });
  await fleet.onSubs({ op: 'subscribe', to: pubsubJid, topic: MOD_PUBSUB_FILTERED_NODE });
  const clientFilter: ClientFilter = { groups: FILTER_GROUPS, fields: FILTERED_FIELDS };
  const m = await runOne(fleet, spec(p, 'w2m', { to: pubsubJid, topic: MOD_PUBSUB_FILTERED_NODE, ...ics }), p.w2Items, pids, 'W2 mod_pubsub + client-side filtering',
    { clientFilter });
  for (const [label, r] of [['controller', c], ['mod_pubsub', m]] as const) {
    if (r.objects_kept !== objectsExpected) log(`W2 ${label}: subscribers hold ${r.objects_kept} objects, the filters select ${objectsExpected}`);
  }
  return {
    controller: c, mod_pubsub_client_filtering: m, time_ratio: ratio(c.seconds, m.seconds), wire_ratio: ratio(c.wire_bytes_per_subscriber, m.wire_bytes_per_subscriber),
    items: p.w2Items, filter_groups: groups, objects_expected: objectsExpected, target_time_ratio: 0.5,
  };
}

export interface SteadyResult extends Measured { rate_per_s: number; deliveries_per_s_offered: number; w0_ceiling_per_s: number; seconds_planned: number; target_p99_ms: number }

/**
 * Latency under a steady load (issue 15): publishes through the controller on a fixed schedule
 * at 50 % of W0's measured ceiling (in deliveries/s) for `steadySeconds`, to every subscriber;
 * publish → delivery from the publish's due time.
 */
export async function steady(fleet: Fleet, p: Params, pids: Pids, controller: string, w0Ceiling: number): Promise<SteadyResult> {
  const subs = fleet.subscriberJids.length;
  const rate = Math.max(1, +((0.5 * w0Ceiling) / subs).toFixed(2));
  const items = Math.max(1, Math.round(rate * p.steadySeconds));
  await fleet.onSubs({ op: 'subscribe', to: controller, topic: STEADY_TOPIC });
  log(`steady: ${rate} publishes/s (${Math.round(rate * subs)} deliveries/s, 50 % of W0's ${w0Ceiling}/s) for ${p.steadySeconds} s`);
  const m = await runOne(fleet, spec(p, 'st', { to: controller, topic: STEADY_TOPIC, items, ratePerS: rate }), items, pids, 'steady');
  return { ...m, rate_per_s: rate, deliveries_per_s_offered: Math.round(rate * subs), w0_ceiling_per_s: w0Ceiling, seconds_planned: p.steadySeconds, items, target_p99_ms: 50 };
}

const SCALE = fileURLToPath(new URL('./scale.js', import.meta.url));

/** The scale child: builds W3's state in `dir` and reports its own RSS. */
/** `store: 'postgres'`: on `pgUrl`, or on a PostgreSQL the child starts in a temporary folder. */
export function w3Scale(dir: string, p: Params, store: 'files' | 'postgres' = 'files', pgUrl?: string): Promise<ScaleResult> {
  const args = ['--expose-gc', SCALE, '--dir', dir, '--accounts', String(p.w3.accounts), '--topics', String(p.w3.topics),
    '--subtopics', String(p.w3.subtopics), '--sequential', String(p.w3.sequential), '--store', store, ...(pgUrl ? ['--pg-url', pgUrl] : [])];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 1 << 20, timeout: 20 * 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`scale child failed: ${err.message} ${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ScaleResult);
    });
  });
}

export async function w3Core(p: Params): Promise<{ decisions_per_s: number; policy_rules: number; registrations_per_s: number; registrations_rsa_per_s: number; registrations_ec_per_s: number }> {
  const pol = benchPolicy(p.decisions);
  const reg = await benchRegistrations(p.registrations);
  return {
    decisions_per_s: pol.decisions_per_s, policy_rules: pol.rules,
    // A grid node registers with one certificate; RSA-2048 is the slower (and common) case.
    registrations_per_s: Math.min(reg.rsa_per_s, reg.ec_per_s), registrations_rsa_per_s: reg.rsa_per_s, registrations_ec_per_s: reg.ec_per_s,
  };
}

