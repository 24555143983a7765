// The third-party data the demo, the bench and the tests read, all inside the repository:
// MITRE ATT&CK for ICS under data/ (gzip, with MITRE's licence) and the OASIS STIX 2.1
// schemas and examples under test/fixtures/ (BSD-3-Clause). Nothing is read from outside.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** dist/src/devgrid/ → the repository root is three levels up. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const ATTACK_ICS_FILE = join(REPO_ROOT, 'data', 'attack-ics', 'ics-attack-18.1.json.gz');
export const STIX_FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'stix2-json-schemas');
export const STIX_EXAMPLES = join(STIX_FIXTURES, 'examples');
export const STIX_SCHEMAS = join(STIX_FIXTURES, 'schemas');

/** A data file's text, gunzipped when its name ends in `.gz` (so `--data` takes either). */
export function readDataText(file: string): string {
  const raw = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}
