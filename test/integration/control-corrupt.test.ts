// A corrupt byte in accounts.json or topics.json: `grid-controller start` refuses with one
// line naming the file, its .bak and how to restore it, and changes nothing (issue 17.1).
// No XMPP server is needed: the stores open before the component link.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDevPki } from '../../src/identity/devcerts.js';
import { SHIPPED_POLICIES } from '../../src/devgrid/devgrid.js';
import { openControlStore } from '../../src/store/control.js';

const CLI = join(process.cwd(), 'dist/src/cli/grid-controller.js');
let work: string;
let ca: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ctlcorrupt-'));
  ca = writeDevPki({ outDir: join(work, 'certs'), domain: 'grid.test', nodes: [] }).ca.cert;
});
after(() => rmSync(work, { recursive: true, force: true }));

async function start(data: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'start'], {
    env: { ...process.env, GRID_XMPP_SERVICE: 'xmpp://127.0.0.1:9', GRID_XMPP_SECRET: 's3cret', GRID_TRUST_CA: ca, GRID_POLICIES: SHIPPED_POLICIES, GRID_DATA: data },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

for (const name of ['accounts.json', 'topics.json']) {
  test(`a flipped byte in ${name}: start refuses with one line naming it, its .bak and the restore command`, async () => {
    const data = join(work, name.replace('.json', ''));
    const file = join(data, name);
    const s = await openControlStore(file, { v: 0, accounts: {}, topics: {} });
    await s.update((d) => void (d.v = 1));
    await s.update((d) => void (d.v = 2));
    await s.close();
    const buf = readFileSync(file);
    buf[buf.indexOf('"v"')] ^= 0x20; // the opening quote of a key: no longer JSON
    writeFileSync(file, buf);

    const r = await start(data);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.includes(file) && lines[0]!.includes(`${file}.bak`), lines[0]);
    assert.ok(lines[0]!.includes(`cp -p ${file}.bak ${file}`), lines[0]);
    assert.deepEqual(readFileSync(file), buf, 'the damaged file is left for inspection');
    assert.ok(!readdirSync(data).some((f) => f.includes('.corrupt-')));
  });
}
