// Issue 15's figures and targets, printed after the table, and the one results file that holds
// both servers: a run on ejabberd writes its figures under `<key>_ejabberd` (w1_ejabberd,
// steady_ejabberd, …) next to the Prosody run's unsuffixed ones, so `latest.json` carries
// `w1.ratio_vs_memory`, `w1_ejabberd.ratio_vs_memory`, `w2.time_ratio`, `steady.p99_ms` and
// `steady_ejabberd.p99_ms` once the bench has run on each server.
/* eslint-disable @typescript-eslint/no-explicit-any */

/** Keys that belong to one server's run (W3 and TAXII do not depend on the XMPP server). */
const GOALS = ['w1', 'w2', 'steady'];
const PER_SERVER = ['meta', 'w0', 'w1', 'w2', 'steady', 'flood', 'controller_process', 'profile'];

export function withServerSuffix(prev: Record<string, unknown>, run: Record<string, unknown>, server: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...prev };
  const date = (run.meta as { date?: string } | undefined)?.date;
  for (const [k, v] of Object.entries(run)) {
    if (v === undefined) continue;
    // A figure kept from an earlier run (--only) still says when it was measured.
    if (GOALS.includes(k) && date && typeof v === 'object' && v !== null) (v as Record<string, unknown>).measured_at = date;
    out[server !== 'prosody' && PER_SERVER.includes(k) ? `${k}_${server}` : k] = v;
  }
  return out;
}

const num = (v: unknown, digits = 0): string => (typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits }) : '-');
const met = (v: unknown, ok: (x: number) => boolean): string => (typeof v === 'number' ? (ok(v) ? 'met' : 'NOT met') : 'not run');
const usPerDelivery = (m: any): number | undefined => (m && m.deliveries ? (m.prosody_cpu_s * 1e6) / m.deliveries : undefined);

export function goalLines(r: any): string {
  const out = ['', 'Issue 15 goals (ratios within one run; each line names the run it comes from):'];
  const when = (meta: any) => (meta ? `last run ${meta.date?.slice(0, 16)}${meta.quick ? ' quick' : ''}` : 'no run');
  const at = (w: any) => (w?.measured_at ? ` [measured ${w.measured_at.slice(11, 16)}]` : '');
  for (const [sfx, name] of [['', 'Prosody'], ['_ejabberd', 'ejabberd']] as const) {
    const w1 = r[`w1${sfx}`];
    const meta = r[`meta${sfx}`];
    if (!w1 && !r[`steady${sfx}`] && !r[`w2${sfx}`]) { out.push(`  ${name}: not run (npm run bench -- ${sfx ? '--server ejabberd ' : ''}--quick)`); continue; }
    out.push(`  ${name} (${when(meta)}):`);
    if (w1) {
      out.push(`    w1${sfx}.ratio_vs_memory ${num(w1.ratio_vs_memory, 3)} (controller ${num(w1.controller?.delivered_per_s)}/s ÷ in-memory mod_pubsub ${num(w1.mod_pubsub_memory?.delivered_per_s)}/s; target ≥ 1.0: ${met(w1.ratio_vs_memory, (x) => x >= 1)}); ` +
        `÷ mod_pubsub as shipped ${num(w1.ratio, 3)}; ${name} µs per delivery: controller ${num(usPerDelivery(w1.controller))}, mod_pubsub in memory ${num(usPerDelivery(w1.mod_pubsub_memory))}${at(w1)}`);
    }
    const w2 = r[`w2${sfx}`];
    if (w2?.controller) {
      out.push(`    w2${sfx}.time_ratio ${num(w2.time_ratio, 3)} (controller ${num(w2.controller.seconds, 2)} s ÷ mod_pubsub + client-side filtering ${num(w2.mod_pubsub_client_filtering.seconds, 2)} s, ` +
        `${w2.items} bundles, ${w2.filter_groups} filter groups; target ≤ 0.5: ${met(w2.time_ratio, (x) => x <= 0.5)}); bytes on the wire per subscriber: controller ${num(w2.controller.wire_bytes_per_subscriber)}, ` +
        `mod_pubsub ${num(w2.mod_pubsub_client_filtering.wire_bytes_per_subscriber)} (ratio ${num(w2.wire_ratio, 3)}); objects held ${num(w2.controller.objects_kept)} / ${num(w2.mod_pubsub_client_filtering.objects_kept)} (the filters select ${num(w2.objects_expected)})${at(w2)}`);
    }
    const s = r[`steady${sfx}`];
    if (s) {
      out.push(`    steady${sfx}.p99_ms ${num(s.p99_ms, 2)} (p50 ${num(s.p50_ms, 2)}, max ${num(s.max_ms, 2)}; ${num(s.rate_per_s, 2)} publishes/s = ${num(s.deliveries_per_s_offered)} deliveries/s, 50 % of W0's ${num(s.w0_ceiling_per_s)}/s, ` +
        `for ${num(s.seconds_planned)} s; ${num(s.deliveries)}/${num(s.expected)} delivered; publish answered (stored) p50 ${num(s.ack_p50_ms, 2)}, p99 ${num(s.ack_p99_ms, 2)} ms; target p99 ≤ 50 ms: ${met(s.p99_ms, (x) => x <= 50)})${at(s)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
