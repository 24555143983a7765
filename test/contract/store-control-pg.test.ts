// The control store contract on a real PostgreSQL (started by the test, test/helpers/postgres.ts).
import { after, before } from 'node:test';
import { PgControlStore, readPgControlState } from '../../src/store/pg/control.js';
import { controlStoreContract } from './store-control.contract.js';
import { pgFixture, type PgFixture } from '../helpers/pg-fixture.js';

let fx: PgFixture;
before(async () => void (fx = await pgFixture()));
after(() => fx.close());

let n = 0;
controlStoreContract('PostgreSQL', {
  open: async (name, defaults, opts) => PgControlStore.open(await fx.poolFor('control'), name, defaults, opts),
  durable: async (name, defaults) => readPgControlState(await fx.poolFor('control'), name, defaults),
  location: async () => {
    const name = `store-${++n}`;
    return { name, cleanup: async () => void (await (await fx.poolFor('control')).query('DELETE FROM control_rows WHERE store = $1', [name])) };
  },
});
