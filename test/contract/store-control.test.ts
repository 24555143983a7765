import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openControlStore } from '../../src/store/control.js';
import { controlStoreBehaviour, controlStoreContract } from './store-control.contract.js';

controlStoreContract('lowdb + durable JSON file', openControlStore);

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
controlStoreBehaviour('lowdb + durable JSON file', async (defaults) => {
  const dir = await mkdtemp(join(tmpdir(), 'ctl-b-'));
  dirs.push(dir);
  return openControlStore(join(dir, 'control.json'), defaults);
});
