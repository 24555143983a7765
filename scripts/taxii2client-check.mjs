// Drives the TAXII door with the OASIS taxii2-client (github.com/oasis-open/cti-taxii-client), by hand:
//   npm run build && TAXII2CLIENT_DIR=/path/to/cti-taxii-client node scripts/taxii2client-check.mjs
// Needs /usr/bin/python3 with Debian's python3-requests, python3-six and python3-tz.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { startTaxiiGrid } = await import(here('../dist/test/helpers/taxii-fixture.js'));
if (!process.env.TAXII2CLIENT_DIR) throw new Error('set TAXII2CLIENT_DIR to a checkout of oasis-open/cti-taxii-client');
const g = await startTaxiiGrid();
let code = 1;
try {
  // The dev server certificate names localhost, not 127.0.0.1: a fixed port and public_url.
  await g.grid.stopController();
  g.grid.cfg.taxii.listen = '127.0.0.1:18443';
  g.grid.cfg.taxii.public_url = 'https://localhost:18443';
  await g.grid.startController();
  const n = g.grid.pki.nodes.sandbox;
  const tok = await g.grid.controller.accounts.issueToken('soc1@grid.test', 'check');
  // requests prefers REQUESTS_CA_BUNDLE over a session's verify=: drop it so the dev CA counts.
  const env = { ...process.env };
  delete env.REQUESTS_CA_BUNDLE;
  delete env.CURL_CA_BUNDLE;
  const c = spawn('/usr/bin/python3', [here('taxii2client-check.py'), 'https://localhost:18443', g.grid.pki.ca.cert, n.cert, n.key, tok.value], { stdio: 'inherit', env });
  code = await new Promise((r) => c.on('close', r));
} finally {
  await g.close();
}
process.exitCode = code;
