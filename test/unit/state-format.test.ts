// The data folder's format version: recorded on first start, a newer one refused with a line
// that says what to do, a state file with another version refused the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_FORMAT, FORMAT_FILE, checkStateVersion, ensureDataFormat } from '../../src/state-format.js';

test('a new folder gets format.json; the same version leaves it alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grid-fmt-'));
  try {
    assert.deepEqual(await ensureDataFormat(dir, '1.2.3'), { format: DATA_FORMAT, migrated: [] });
    assert.deepEqual(JSON.parse(readFileSync(join(dir, FORMAT_FILE), 'utf8')), { format: DATA_FORMAT, written_by: '1.2.3' });
    await ensureDataFormat(dir, '1.2.4');
    assert.equal(JSON.parse(readFileSync(join(dir, FORMAT_FILE), 'utf8')).written_by, '1.2.4', 'records the last version that ran on it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a newer format is refused with one line naming both versions and what to do', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grid-fmt-'));
  try {
    writeFileSync(join(dir, FORMAT_FILE), JSON.stringify({ format: DATA_FORMAT + 1, written_by: '9.0.0' }));
    await assert.rejects(ensureDataFormat(dir, '0.1.0'),
      new RegExp(`has format ${DATA_FORMAT + 1} \\(written by grid-controller 9\\.0\\.0\\); this grid-controller 0\\.1\\.0 reads format ${DATA_FORMAT} at most: run the newer version, or restore the backup taken before the upgrade$`));
    assert.equal(JSON.parse(readFileSync(join(dir, FORMAT_FILE), 'utf8')).format, DATA_FORMAT + 1, 'left untouched');
    writeFileSync(join(dir, FORMAT_FILE), '{oops');
    await assert.rejects(ensureDataFormat(dir, '0.1.0'), /format\.json is unreadable/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a state file with another version is refused', () => {
  assert.doesNotThrow(() => checkStateVersion('a.json', { version: 1 }, 1));
  assert.throws(() => checkStateVersion('var/accounts.json', { version: 2 }, 1), /^Error: var\/accounts\.json has state version 2; this controller reads version 1/);
});
