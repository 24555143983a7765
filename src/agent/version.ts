// The package's version, read from the package.json that ships with the code (dist/src/... →
// the package root), so `--version` is right after `npm install -g` as well as in a checkout.
// Lives with the agent because the agent imports nothing of the controller; the controller's
// CLI reads it from here too (one implementation).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'xmpp-grid-controller' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // not here: look one folder up
    }
    dir = dirname(dir);
  }
  return (cached = 'unknown');
}
