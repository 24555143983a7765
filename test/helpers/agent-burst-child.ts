// A node program under test: connects with GridClient (options as JSON in argv[2]), sends
// argv[3] concurrent publishes and prints one JSON line per outcome, then a summary line.
// Node's default for an unhandled rejection is to exit: if the library leaks one, this
// process dies before the summary, which is what the test looks for.
import { GridClient, GridError } from '../../src/agent/index.js';

const opts = JSON.parse(process.argv[2]!) as Parameters<typeof GridClient.connect>[0];
const n = Number(process.argv[3] ?? 50);
const grid = await GridClient.connect({ ...opts, reconnect: false });
const payload = { type: 'indicator', spec_version: '2.1', id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: '2025-01-01T00:00:00.000Z', modified: '2025-01-01T00:00:00.000Z', pattern: "[ipv4-addr:value = '198.51.100.1']", pattern_type: 'stix', valid_from: '2025-01-01T00:00:00Z' };
const outcomes = await Promise.allSettled(Array.from({ length: n }, () => grid.publish('threat-intel/indicators', payload)));
let gridErrors = 0;
const conditions = new Set<string>();
for (const o of outcomes) {
  if (o.status === 'rejected' && o.reason instanceof GridError) { gridErrors++; conditions.add(o.reason.condition); }
}
await grid.close();
console.log(JSON.stringify({ requests: n, fulfilled: outcomes.filter((o) => o.status === 'fulfilled').length, gridErrors, conditions: [...conditions] }));
