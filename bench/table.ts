// The stdout table of a bench run (bench/results/latest.json holds everything).
/* eslint-disable @typescript-eslint/no-explicit-any */

const num = (v: unknown, digits = 0): string => (typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits }) : '-');

export function buildTable(r: any): string {
  const rows: string[][] = [['workload', 'delivered/s', 'payload MB/s', 'mean payload B', 'p50 ms', 'p95 ms', 'p99 ms', 'deliveries', 'note']];
  const run = (name: string, m: any, note: string) => {
    if (!m) return;
    rows.push([name, num(m.delivered_per_s), num(m.payload_mb_per_s, 2), num(m.mean_payload_bytes), num(m.p50_ms, 2), num(m.p95_ms, 2), num(m.p99_ms, 2),
      `${num(m.deliveries)}${m.expected > 0 ? `/${num(m.expected)}` : ''}`, `${note}${m.complete === false ? ' INCOMPLETE' : ''}${m.publish_errors ? ` ${m.publish_errors} publish errors` : ''}`]);
  };
  run('W0 client→client (ceiling)', r.w0, '');
  run('W1 controller fan-out', r.w1?.controller, `${num(r.w1?.controller_fraction_of_w0 * 100, 1)} % of W0`);
  run('W1 mod_pubsub (persist_items)', r.w1?.mod_pubsub, `${num(r.w1?.mod_pubsub_fraction_of_w0 * 100, 1)} % of W0; ${num(r.w1?.mod_pubsub?.items)} items`);
  run('W1 mod_pubsub (in memory)', r.w1?.mod_pubsub_memory, `${num(r.w1?.mod_pubsub_memory_fraction_of_w0 * 100, 1)} % of W0`);
  run('W2 controller (cut per filter)', r.w2?.controller, `${num(r.w2?.controller?.seconds, 2)} s, ${num(r.w2?.controller?.wire_bytes_per_subscriber)} B/subscriber`);
  run('W2 mod_pubsub + client filter', r.w2?.mod_pubsub_client_filtering, `${num(r.w2?.mod_pubsub_client_filtering?.seconds, 2)} s, ${num(r.w2?.mod_pubsub_client_filtering?.wire_bytes_per_subscriber)} B/subscriber`);
  run('steady (50 % of W0)', r.steady, `${num(r.steady?.rate_per_s, 2)} publishes/s; max ${num(r.steady?.max_ms, 2)} ms`);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const lines = rows.map((row) => row.map((cell, c) => (c === 0 || c === row.length - 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const m = r.meta;
  const out = [`XMPP-Grid bench${m.quick ? ' (quick)' : ''}: ${m.cpus} CPUs, node ${m.node}, ${m.server_name ?? 'Prosody'} ${m.server_version ?? m.prosody ?? '?'}, ${m.subscribers} subscribers, window ${m.window}`, '', ...lines, ''];
  out.push(`W1 ratio controller ÷ mod_pubsub: ${num(r.w1?.ratio, 3)} (target ≥ 1.0; ${m.server_name ?? 'Prosody'}'s mod_pubsub with persist_items); ÷ in-memory mod_pubsub: ${num(r.w1?.ratio_vs_memory, 3)}`);
  if (r.controller_process?.stats) {
    const st = r.controller_process.stats;
    out.push(`Controller: ${num(st.sent)} stanzas written, ${num(st.multicast_messages)} of them XEP-0033 multicasts carrying ${num(st.multicast_copies)} deliveries; ${num(st.multicast_fallbacks)} re-sent one by one; ${num(st.bounced)} bounced`);
  }
  if (r.taxii) {
    const t = r.taxii;
    out.push(`TAXII: GET ${num(t.get.objects)} of ${num(t.stored_objects)} stored objects in ${num(t.get.pages)} pages of ${num(t.page_size)}: ${num(t.get.objects_per_s)} objects/s, ` +
      `page p50 ${num(t.get.p50_ms, 1)} ms, p99 ${num(t.get.p99_ms, 1)} ms (target ≤ 50 ms); last 10 pages ÷ first 10: ${num(t.get.deep_to_shallow, 2)} (depth-independent ≈ 1); index built in ${num(t.index_build_ms)} ms`);
    out.push(`  POST ${num(t.post.envelopes)} envelopes of ${t.post.objects_per_envelope}: ${num(t.post.envelopes_per_s, 1)} envelopes/s (${num(t.post.objects_per_s)} objects/s), p99 ${num(t.post.p99_ms, 1)} ms; ${t.note}`);
  }
  if (r.flood) {
    const f = r.flood;
    out.push(`Flood: one node ${num(f.flooder.per_s)} requests/s (${num(f.flooder.sent)} in ${num(f.flooder.seconds, 1)} s, ${num(f.flooder.answered)} answered; refused: ${Object.entries(f.flooder.refused).map(([k, n]) => `${k} ${num(n)}`).join(', ') || 'none'})`);
    out.push(`  victim p99 ${num(f.victim_during.p99_ms, 2)} ms during the flood, ${num(f.victim_alone.p99_ms, 2)} ms alone: ratio ${num(f.victim_p99_ratio, 2)} (target ≤ 2); ` +
      `(disco#info ${num(f.victim_during.disco_info_p99_ms, 2)} / ${num(f.victim_alone.disco_info_p99_ms, 2)}, publish ${num(f.victim_during.publish_p99_ms, 2)} / ${num(f.victim_alone.publish_p99_ms, 2)}); ` +
      `controller RSS ${num(f.rss_before_mb, 1)} MB before, ${num(f.rss_during_mb, 1)} during, ${num(f.rss_after_mb, 1)} after ${f.settle_s} s: recovered ${f.rss_recovered ? 'yes' : 'NO'} (within 10 %)`);
  }
  out.push('', `CPU seconds during each run (controller / ${m.server_name ?? 'Prosody'} / clients):`);
  for (const [name, m] of [['W0', r.w0], ['W1 controller', r.w1?.controller], ['W1 mod_pubsub persist', r.w1?.mod_pubsub], ['W1 mod_pubsub memory', r.w1?.mod_pubsub_memory], ['W2 controller', r.w2?.controller], ['W2 mod_pubsub', r.w2?.mod_pubsub_client_filtering], ['steady', r.steady]] as [string, any][]) {
    if (m) out.push(`  ${name.padEnd(22)} ${num(m.controller_cpu_s, 1)} / ${num(m.prosody_cpu_s, 1)} / ${num(m.clients_cpu_s, 1)} over ${num(m.seconds, 1)} s; ${r.meta.server_name ?? 'Prosody'} ${num((m.prosody_cpu_s * 1e6) / Math.max(1, m.deliveries), 0)} µs per delivery`);
  }
  out.push('');
  if (r.w3) {
    const w = r.w3;
    out.push(`W3 ${num(w.accounts)} accounts, ${num(w.topics)} topics, ${num(w.subtopics)} subtopics: controller RSS ${num(w.rss_mb, 1)} MB (peak ${num(w.hwm_mb, 1)}; target ≤ 300), ` +
      `subscribe p99 ${num(w.subscribe_p99_ms, 1)} ms (p50 ${num(w.subscribe_p50_ms, 1)}; ${w.subscribe_concurrency} concurrent: p99 ${num(w.subscribe_concurrent_p99_ms, 1)})`);
    out.push(`W3 policy: ${num(w.decisions_per_s)} decisions/s with ${num(w.policy_rules)} rules; registrations: ${num(w.registrations_per_s)}/s (RSA ${num(w.registrations_rsa_per_s)}, EC ${num(w.registrations_ec_per_s)})`);
    if (w.build_s !== undefined) out.push(`W3 files store: state built in ${num(w.build_s, 1)} s (target ≤ 120), stores reopened in ${num(w.stores_reopen_s, 2)} s, controller answering ${num(w.startup_s, 2)} s after its start (target ≤ 3; on an empty data dir ${num(w.startup_empty_s, 2)} s)`);
    if (w.conditions) out.push(`W3 files store conditions: load average ${w.conditions.loadavg_1m}, the disk's own fdatasync p50 ${num(w.conditions.disk_fdatasync_p50_ms, 1)} / p99 ${num(w.conditions.disk_fdatasync_p99_ms, 1)} ms, event-loop delay p99 ${num(w.conditions.event_loop_delay_p99_ms, 1)} ms`);
  }
  if (r.w3_postgres) {
    const w = r.w3_postgres;
    out.push(`W3 PostgreSQL store: subscribe p99 ${num(w.subscribe_p99_ms, 1)} ms (p50 ${num(w.subscribe_p50_ms, 1)}; ${w.subscribe_concurrency} concurrent: p99 ${num(w.subscribe_concurrent_p99_ms, 1)}), ` +
      `state built in ${num(w.build_s, 1)} s, stores reopened in ${num(w.stores_reopen_s, 2)} s, controller RSS ${num(w.rss_mb, 1)} MB answering ${num(w.startup_s, 2)} s after its start, core RSS ${num(w.core_process.rss_mb, 1)} MB`);
    if (w.conditions) out.push(`W3 PostgreSQL conditions: load average ${w.conditions.loadavg_1m}, event-loop delay p99 ${num(w.conditions.event_loop_delay_p99_ms, 1)} ms`);
  }
  if (r.profile) {
    out.push('', `controller CPU profile (${r.profile.file}), top self time:`);
    for (const f of r.profile.top.slice(0, 12)) out.push(`  ${String(f.self_pct).padStart(5)} %  ${f.fn}  ${f.where}`);
  }
  return `${out.join('\n')}\n`;
}
