// The shape of docs/design.md: the core imports no door, a door imports no other door, the
// shared HTTPS server imports no door (issue 18 "Done means").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(new URL('../../../src', import.meta.url).pathname);
const CORE = ['accounts', 'identity', 'policy', 'topics', 'filters', 'payloads', 'store'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Top-level src folder of each relative import of `file`. */
function importedFolders(file: string): { spec: string; folder: string }[] {
  const text = readFileSync(file, 'utf8');
  const out: { spec: string; folder: string }[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const target = relative(SRC, resolve(dirname(file), m[1]!));
    out.push({ spec: m[1]!, folder: target.split('/')[0]! });
  }
  return out;
}

function offenders(folders: string[], forbidden: string[]): string[] {
  return folders.flatMap((f) => files(join(SRC, f)).flatMap((file) =>
    importedFolders(file).filter((i) => forbidden.includes(i.folder)).map((i) => `${relative(SRC, file)} imports ${i.spec}`)));
}

test('the core imports nothing from a door (src/xmpp, src/taxii) nor the HTTPS server', () => {
  assert.deepEqual(offenders(CORE, ['xmpp', 'taxii', 'https']), []);
});

test('src/taxii imports nothing from src/xmpp; src/https imports no door', () => {
  assert.deepEqual(offenders(['taxii'], ['xmpp']), []);
  assert.deepEqual(offenders(['https'], ['xmpp', 'taxii']), []);
});

test('the web console is a door too: no core module, no other door and the HTTPS server import it', () => {
  assert.deepEqual(offenders([...CORE, 'taxii', 'https', 'xmpp'], ['console']), []);
  assert.deepEqual(offenders(['console'], ['xmpp', 'taxii', 'cli']), []);
});

test('the check sees imports (it would fail on a real offender)', () => {
  assert.ok(importedFolders(join(SRC, 'taxii', 'door.ts')).some((i) => i.folder === 'https'));
});
