// What the bench publishes: ~1.2 KB STIX 2.1 indicators (W0, W1), ATT&CK for ICS bundles
// with ten subscriber filter groups (W2), and the bench's own policy file.
import { writeFileSync } from 'node:fs';
import { readDataText } from '../src/devgrid/data-files.js';
import { join } from 'node:path';

export const FANOUT_TOPIC = 'bench/fanout';
export const FILTERED_TOPIC = 'bench/filtered';
export const MOD_PUBSUB_NODE = 'bench-fanout';
/** The steady-rate workload's topic (its own: a second subscription to bench/fanout would double deliveries). */
export const STEADY_TOPIC = 'bench/steady';
/** W2's mod_pubsub node: the same bundles, unfiltered, cut by the subscribers themselves. */
export const MOD_PUBSUB_FILTERED_NODE = 'bench-filtered';
/** The filter fields bench/filtered declares (policy below), for the subscribers' own cutting. */
export const FILTERED_FIELDS: Record<string, string> = { platform: 'x_mitre_platforms', domain: 'x_mitre_domains' };
export const BENCH_OU = 'bench';
export const FLOOD_TOPIC = 'bench/flood';
/** The flood workload's victim publishes to a topic of its own, as an ordinary provider would. */
export const VICTIM_TOPIC = 'bench/victim';
/** The flooder's certificate OU: approved into bench-flood, a group with the default limits. */
export const FLOOD_OU = 'bench-flood';

/** A STIX 2.1 indicator of about 1.2 KB, as JSON text; `seq` makes its id unique. */
export function indicatorJson(seq: number): string {
  const hex = seq.toString(16).padStart(12, '0');
  const obj = {
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--6b1e8f4c-3c2a-4d7e-9f10-${hex}`,
    created: '2026-01-01T00:00:00.000Z',
    modified: '2026-01-01T00:00:00.000Z',
    name: `Bench indicator ${seq}`,
    description: 'Synthetic indicator used by the XMPP-Grid benchmark. It carries a domain-name and an IPv4 pattern, labels and a confidence, ' +
      'so that it is about the size of a typical single-object STIX 2.1 indicator on a threat-intel feed. '.repeat(4),
    indicator_types: ['malicious-activity'],
    pattern: `[domain-name:value = 'c2-${hex}.bench.example'] OR [ipv4-addr:value = '198.51.100.${seq % 250}']`,
    pattern_type: 'stix',
    valid_from: '2026-01-01T00:00:00Z',
    labels: ['bench', 'c2'],
    confidence: 80,
    kill_chain_phases: [{ kill_chain_name: 'mitre-attack', phase_name: 'command-and-control' }],
  };
  return JSON.stringify(obj);
}

/**
 * ATT&CK for ICS cut into bundles of `perBundle` objects, each bundle mixing object types
 * (stride through the list) so that every filter group finds something in most bundles.
 * Objects over 20 KB are left out so that no stanza comes near Prosody's 256 KiB limit.
 */
export function icsBundles(file: string, perBundle = 30): string[] {
  const bundle = JSON.parse(readDataText(file)) as { objects: Record<string, unknown>[] };
  const objs = bundle.objects.filter((o) => o.type !== 'marking-definition' && JSON.stringify(o).length < 20_000);
  const count = Math.ceil(objs.length / perBundle);
  const out: string[] = [];
  for (let b = 0; b < count; b++) {
    const objects: Record<string, unknown>[] = [];
    for (let i = b; i < objs.length; i += count) objects.push(objs[i]!);
    out.push(JSON.stringify({ type: 'bundle', id: `bundle--00000000-0000-4000-8000-${b.toString(16).padStart(12, '0')}`, objects }));
  }
  return out;
}

/** W2's ten filter groups (PROTOCOL §5 filter fields; `platform`/`domain` are topic-declared). */
export const FILTER_GROUPS: Record<string, string[]>[] = [
  { type: ['attack-pattern'] },
  { type: ['relationship'] },
  { type: ['malware', 'intrusion-set', 'campaign'] },
  { type: ['course-of-action'] },
  { kill_chain_phase: ['inhibit-response-function', 'impair-process-control', 'impact'] },
  { kill_chain_phase: ['initial-access', 'execution', 'persistence'] },
  { platform: ['Windows'] },
  { platform: ['Field Controller/RTU/PLC/IED', 'Embedded'] },
  { type: ['x-mitre-detection-strategy', 'x-mitre-analytic'] },
  { domain: ['ics-attack'] },
];

/** Added to a copy of the shipped policies: bench nodes are approved on registration. */
export function writeBenchPolicy(dir: string, maxItems: number): void {
  writeFileSync(join(dir, '90-bench.yaml'), `# Written by the benchmark (bench/payloads.ts).
groups:
  bench: Benchmark nodes
  bench-flood: The flood workload's flooder (default limits)
registration:
  auto_approve:
    - id: bench-nodes
      issuer: { O: Grid Dev CA }
      subject: { OU: ${BENCH_OU} }
      groups: [bench]
    - id: bench-flooder
      issuer: { O: Grid Dev CA }
      subject: { OU: ${FLOOD_OU} }
      groups: [bench-flood]
# The bench's own nodes measure throughput: their limits are raised out of the way (README
# "Rate limits"). The flooder keeps the defaults.
limits:
  groups:
    bench: { iq_per_s: 1000000, iq_burst: 1000000, publish_per_s: 1000000, publish_burst: 1000000, payload_bytes_per_s: 1000000000, payload_burst_bytes: 1000000000, inflight: 512, queue: 100000 }
topics:
  - name: ${FLOOD_TOPIC}
    title: Bench flood (no subscribers)
    content_type: application/stix+json;version=2.1
    max_items: 1000
  - name: ${VICTIM_TOPIC}
    title: Bench flood's victim (no subscribers)
    content_type: application/stix+json;version=2.1
    max_items: 1000
  - name: ${FANOUT_TOPIC}
    title: Bench fan-out
    content_type: application/stix+json;version=2.1
    filtering: controller
    max_items: ${maxItems}
  - name: ${STEADY_TOPIC}
    title: Bench steady rate
    content_type: application/stix+json;version=2.1
    filtering: controller
    max_items: ${maxItems}
  - name: ${FILTERED_TOPIC}
    title: Bench filtered
    content_type: application/stix+json;version=2.1
    filtering: controller
    filter_fields: { platform: x_mitre_platforms, domain: x_mitre_domains }
    max_items: ${maxItems}
rules:
  - id: bench-all
    effect: permit
    operations: [discover, publish, subscribe, query]
    groups: [bench, bench-flood]
    topics: ["bench/**"]
# end
`);
}
