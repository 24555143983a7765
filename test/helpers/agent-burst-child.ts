// A node program under test: connects with GridClient (options as JSON in argv[2]), sends
// argv[3] concurrent requests and prints one summary line of their outcomes.
// Node's default for an unhandled rejection is to exit: if the library leaks one, this
// process dies before the summary, which is what the test looks for.
import { GridClient, GridError } from '../../src/agent/index.js';

const opts = JSON.parse(process.argv[2]!) as Parameters<typeof GridClient.connect>[0];
const n = Number(process.argv[3] ?? 50);
const grid = await GridClient.connect({ ...opts, reconnect: false });
// status(): one registration get each, so n requests are in flight at once.
const outcomes = await Promise.allSettled(Array.from({ length: n }, () => grid.status()));
let gridErrors = 0;
const conditions = new Set<string>();
for (const o of outcomes) {
  if (o.status === 'rejected' && o.reason instanceof GridError) { gridErrors++; conditions.add(o.reason.condition); }
}
await grid.close();
console.log(JSON.stringify({ requests: n, fulfilled: outcomes.filter((o) => o.status === 'fulfilled').length, gridErrors, conditions: [...conditions] }));
