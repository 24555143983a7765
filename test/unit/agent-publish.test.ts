// `grid-node publish a.json b.json c.json`: every file is read and checked before anything is
// sent; the good ones are published, and each file says what became of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishAll } from '../../src/agent/cli/publish.js';
import { setQuiet } from '../../src/agent/cli/output.js';
import { GridError } from '../../src/agent/errors.js';
import type { Payload } from '../../src/agent/grid-types.js';

const indicator = (n: number) => ({ type: 'indicator', spec_version: '2.1', id: `indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3${n}`, pattern: "[ipv4-addr:value = '198.51.100.1']" });

test('one bad file among three: the other two are published, every file is reported, the bad one says why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grid-publish-'));
  setQuiet(true);
  try {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    const c = join(dir, 'c.json');
    writeFileSync(a, JSON.stringify(indicator(1)));
    writeFileSync(b, '{"type": "indicator",');
    writeFileSync(c, JSON.stringify(indicator(2)));
    const sent: Payload[] = [];
    const client = {
      async publish(_topic: string, payload: Payload) {
        sent.push(payload);
        return { id: `item-${sent.length}` };
      },
    };
    const s = await publishAll(client as never, 'threat-intel/indicators', [a, b, c], { split: false });
    assert.equal(sent.length, 2);
    assert.deepEqual(s.files.map((f) => [f.source, f.published, f.errors.length]), [[a, ['item-1'], 0], [b, [], 1], [c, ['item-2'], 0]]);
    assert.match(s.files[1]!.errors[0]!, /b\.json: invalid JSON/);
    assert.equal(s.published, 2);
    assert.equal(s.failed, 1);

    // a refusal by the controller is that file's, the others go on
    const refusing = { async publish(_t: string, p: Payload) { if ((p as { id: string }).id.endsWith('2')) throw new GridError('stanza', 'bad-request', 'bad-request + invalid-payload: no'); return { id: 'ok' }; } };
    const r = await publishAll(refusing as never, 'threat-intel/indicators', [a, c], { split: false });
    assert.deepEqual(r.files.map((f) => [f.published.length, f.errors]), [[1, []], [0, ['bad-request + invalid-payload: no']]]);
  } finally {
    setQuiet(false);
    rmSync(dir, { recursive: true, force: true });
  }
});
