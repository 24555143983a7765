import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openControlStore, readControlState } from '../../src/store/control.js';
import { controlStoreContract } from './store-control.contract.js';

controlStoreContract('lowdb snapshot + journal', {
  open: openControlStore,
  durable: readControlState,
  location: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctl-'));
    return { name: join(dir, 'sub', 'control.json'), cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
});
