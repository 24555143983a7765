// Where the team's shared data sets live: ../shared/data beside the repository (as on the
// developers' machines and in CI), or wherever GRID_SHARED_DATA points.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** dist/src/devgrid/ → the repository root is three levels up; shared/ sits beside it. */
export const SHARED_DATA = process.env.GRID_SHARED_DATA ?? fileURLToPath(new URL('../../../../shared/data/', import.meta.url));

export const ATTACK_ICS_FILE = join(SHARED_DATA, 'attack-ics', 'ics-attack-18.1.json');
export const STIX_EXAMPLES = join(SHARED_DATA, 'stix2-json-schemas', 'examples');
