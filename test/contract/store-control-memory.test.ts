// The behaviour part of the control store contract, run on the tests' one in-memory control
// store (test/helpers/fakes.ts) and on the files store, so the stand-in behaves as the real one.
import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openControlStore } from '../../src/store/control.js';
import { memoryStore } from '../helpers/fakes.js';
import { controlStoreBehaviour } from './store-control-behaviour.js';

controlStoreBehaviour('in memory (test/helpers/fakes.ts)', async (defaults) => memoryStore(defaults));

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
controlStoreBehaviour('files (lowdb + durable JSON file)', async (defaults) => {
  const dir = await mkdtemp(join(tmpdir(), 'ctl-b-'));
  dirs.push(dir);
  return openControlStore(join(dir, 'control.json'), defaults);
});
