// The four workloads. Each takes the running grid + fleet and returns plain figures.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { Fleet, figures, type RunFigures } from './fleet.js';
import { summarise, type LatencySummary } from './stats.js';
import { FANOUT_TOPIC, FILTERED_TOPIC, FILTER_GROUPS, MOD_PUBSUB_NODE } from './payloads.js';
import type { PublishSpec } from './fleet-types.js';
import { cpuSeconds, procMemory } from './procs.js';
import { benchPolicy } from './policy.js';
import { benchRegistrations } from './registrations.js';
import type { ScaleResult } from './scale.js';

export interface Params {
  subscribers: number; workers: number; w0Rounds: number; w1Items: number; w2Items: number; window: number;
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
  publish_errors: number; first_error?: string; items?: number; persist_items?: boolean; clients_cpu_s?: number; controller_cpu_s?: number; prosody_cpu_s?: number; controller_rss_mb?: number;
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
async function runOne(fleet: Fleet, spec: PublishSpec, perSub: number | undefined, pids: Pids, label: string): Promise<Measured> {
  const shares = fleet.subs.map((_, w) => fleet.subscriberJids.filter((_, i) => i % fleet.subs.length === w).length);
  const expected = perSub === undefined ? -1 : perSub * fleet.subscriberJids.length;
  const clients = () => fleet.all.reduce((a, w) => a + (cpuSeconds(w.child.pid!) ?? 0), 0);
  const cpu0 = { c: pids.controller ? cpuSeconds(pids.controller) : undefined, p: cpuSeconds(pids.prosody), k: clients() };
  let lastLog = 0;
  const r = await fleet.run(spec, perSub === undefined ? undefined : (w) => perSub * shares[w]!, {
    idleMs: 30_000, settleMs: 3000, deadlineMs: 40 * 60_000,
    progress: (n) => {
      if (Date.now() - lastLog < 5000) return;
      lastLog = Date.now();
      log(`${label}: ${n}${expected >= 0 ? ` / ${expected}` : ''} delivered`);
    },
  });
  const m = measured(figures(r, expected));
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

export async function w2(fleet: Fleet, p: Params, pids: Pids, controller: string): Promise<Measured> {
  await fleet.onSubs({ op: 'subscribe', to: controller, topic: FILTERED_TOPIC, filters: FILTER_GROUPS });
  return runOne(fleet, spec(p, 'w2', { to: controller, topic: FILTERED_TOPIC, items: p.w2Items, kind: 'ics', icsFile: p.icsFile, perBundle: 30 }), undefined, pids, 'W2 filtered');
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

