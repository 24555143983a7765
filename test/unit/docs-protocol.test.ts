// docs/protocol.md is the published copy of the team's PROTOCOL.md. Where that original sits
// beside the checkout (../shared/, as on the developers' machines and in CI), the two must be
// identical, so a change there that is not carried over fails the build. A bare clone has no
// original: the copy is then all there is, and the test only checks that it is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/devgrid/data-files.js';

const COPY = join(REPO_ROOT, 'docs', 'protocol.md');
const ORIGINAL = join(REPO_ROOT, '..', 'shared', 'PROTOCOL.md');

test('docs/protocol.md ships in the repository', () => {
  assert.match(readFileSync(COPY, 'utf8'), /^# /, 'a markdown document');
});

test('docs/protocol.md is identical to ../shared/PROTOCOL.md when that exists', (t) => {
  if (!existsSync(ORIGINAL)) {
    t.diagnostic(`${ORIGINAL} absent (bare clone): nothing to compare`);
    return;
  }
  const copy = readFileSync(COPY, 'utf8');
  const original = readFileSync(ORIGINAL, 'utf8');
  if (copy === original) return;
  const a = copy.split('\n');
  const b = original.split('\n');
  const line = a.findIndex((l, i) => l !== b[i]);
  assert.fail(`docs/protocol.md differs from ${ORIGINAL} from line ${line + 1}: copy it over (cp ${ORIGINAL} docs/protocol.md)`);
});
