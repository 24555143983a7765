// The item store contract on a real PostgreSQL (started by the test): a schema per location.
import { after, before } from 'node:test';
import { PgItemStore } from '../../src/store/pg/items.js';
import { itemStoreContract } from './store-items.contract.js';
import { pgFixture, type PgFixture } from '../helpers/pg-fixture.js';

let fx: PgFixture;
before(async () => void (fx = await pgFixture()));
after(() => fx.close());

itemStoreContract('PostgreSQL', async (dir, opts) => PgItemStore.open(await fx.poolFor(dir), opts), { compaction: false });
