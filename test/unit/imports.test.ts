// The shape of the code (docs/design.md): dependencies point inward. The core never imports
// a door or the CLI, a door never imports another door, the agent imports nothing of the
// controller. Import specifiers are read from the .ts sources with the TypeScript compiler's
// own pre-processor (static imports, re-exports, `import type`, dynamic import()).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../src');

/** The core: what every door calls (docs/design.md "The shape"). */
const CORE = ['accounts', 'identity', 'policy', 'topics', 'filters', 'payloads', 'store', 'limits', 'metrics', 'config'];
const CORE_FILES = ['result.ts', 'jid.ts', 'log.ts'];
/** Doors, the CLI and the assembly: never imported by the core. */
const OUTER = ['xmpp', 'taxii', 'https', 'cli', 'admin', 'devgrid', 'agent', 'main.ts', 'wiring.ts', 'wiring-admin.ts', 'wiring-limits.ts', 'wiring-ops.ts', 'wiring-https.ts'];

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (statSync(dir).isFile()) return dir.endsWith('.ts') ? [dir] : [];
  return readdirSync(dir).flatMap((n) => tsFiles(join(dir, n)));
}

/** Relative imports of one file, resolved to paths under src/ ('xmpp/router.ts'); packages are left out. */
function importsOf(file: string): { spec: string; target: string }[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => ({ spec, target: relative(SRC, resolve(dirname(file), spec)).split(sep).join('/').replace(/\.js$/, '.ts') }));
}

/** Top folder (or top-level file) of a path under src/. */
const top = (p: string) => p.split('/')[0]!;

function violations(from: string[], banned: (target: string) => boolean): string[] {
  const out: string[] = [];
  for (const f of from) {
    for (const { spec, target } of importsOf(f)) if (banned(target)) out.push(`${relative(SRC, f)} imports '${spec}'`);
  }
  return out;
}

test('the parser sees every kind of import (a check that sees nothing proves nothing)', () => {
  const info = ts.preProcessFile("import a from './a.js';\nimport type { B } from '../b.js';\nexport * from './c.js';\nconst d = await import('./d.js');\nimport './e.js';\n", true, true);
  assert.deepEqual(info.importedFiles.map((f) => f.fileName), ['./a.js', '../b.js', './c.js', './d.js', './e.js']);
  const core = CORE.flatMap((d) => tsFiles(join(SRC, d)));
  assert.ok(core.length > 50, `core files found: ${core.length}`);
  assert.ok(core.some((f) => importsOf(f).length > 0));
});

test('the core imports no door, no CLI, no assembly', () => {
  const files = [...CORE.flatMap((d) => tsFiles(join(SRC, d))), ...CORE_FILES.map((f) => join(SRC, f))];
  assert.deepEqual(violations(files, (t) => OUTER.includes(top(t))), []);
});

test('the TAXII door imports nothing of the XMPP door (and the XMPP door nothing of TAXII)', () => {
  assert.deepEqual(violations(tsFiles(join(SRC, 'taxii')), (t) => top(t) === 'xmpp'), []);
  assert.deepEqual(violations(tsFiles(join(SRC, 'xmpp')), (t) => top(t) === 'taxii'), []);
});

test('the agent imports nothing of the controller', () => {
  const agent = tsFiles(join(SRC, 'agent'));
  assert.ok(agent.length > 10);
  assert.deepEqual(violations(agent, (t) => top(t) !== 'agent'), []);
});
