// What only the PostgreSQL store has: its schema migrations, store.kind selection, reading
// another instance's writes (refresh, for the cluster's invalidations), and a server outage.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { migrate, SchemaVersionError } from '../../src/store/pg/migrate.js';
import { MIGRATIONS } from '../../src/store/pg/migrations.js';
import { PgControlStore } from '../../src/store/pg/control.js';
import { PgItemStore } from '../../src/store/pg/items.js';
import { openStoreBackend } from '../../src/store/open.js';
import { withAdvisoryLock, withTransaction } from '../../src/store/pg/pool.js';
import { ChangeFeed } from '../../src/store/pg/notify.js';
import { item } from './store-items.contract.js';
import { pgFixture, type PgFixture } from '../helpers/pg-fixture.js';

describe('PostgreSQL store', { timeout: 120_000 }, () => {
  let fx: PgFixture;
  before(async () => void (fx = await pgFixture()));
  after(() => fx.close());

  test('migrations: applied once, recorded per version, idempotent, safe when two instances start at once', async () => {
    const url = fx.urlFor('migrate');
    await fx.poolFor('migrate'); // creates the schema (and migrates once)
    const pools = [new pg.Pool({ connectionString: url }), new pg.Pool({ connectionString: url })];
    const r = await Promise.all(pools.map((p) => migrate(p)));
    const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    assert.deepEqual(r, [{ from: latest, to: latest }, { from: latest, to: latest }]);
    const v = await pools[0]!.query('SELECT version, name FROM grid_schema_version ORDER BY version');
    assert.deepEqual(v.rows, MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    for (const p of pools) await p.end();
  });

  test('migrations: a fresh schema gets every table in one go; a newer schema version is refused, naming both versions', async () => {
    const pool = await fx.poolFor('newer');
    const t = await pool.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`);
    assert.deepEqual(t.rows.map((r: { table_name: string }) => r.table_name), ['challenges', 'control_rows', 'grid_schema_version', 'instances', 'item_topics', 'items']);
    await pool.query(`INSERT INTO grid_schema_version (version, name) VALUES (999, 'from the future')`);
    await assert.rejects(migrate(pool), (e: unknown) => e instanceof SchemaVersionError && /version 999/.test(e.message) && new RegExp(`up to ${MIGRATIONS.length}`).test(e.message));
  });

  test('store.kind postgres: the backend opens both stores on the URL; an unreachable server is one clear error', async () => {
    await fx.poolFor('backend');
    const b = await openStoreBackend({ data: '/nonexistent', store: { kind: 'postgres', url: fx.urlFor('backend'), cache_bytes: 1, control_on_corrupt: 'refuse' } });
    assert.equal(b.kind, 'postgres');
    const c = await b.control('accounts', { version: 1, accounts: {} as Record<string, unknown> });
    await c.update((d) => void (d.accounts.x = { status: 'approved' }));
    const items = await b.items();
    assert.equal((await items.append('t', item('a'), 10)).seq, 1);
    await c.close();
    await items.close();
    await b.close();
    await assert.rejects(
      openStoreBackend({ data: '/x', store: { kind: 'postgres', url: 'postgresql://grid:s3cret@127.0.0.1:9/none', cache_bytes: 1, control_on_corrupt: 'refuse' } }),
      (e: Error) => /^PostgreSQL store postgresql:\/\/grid:\*\*\*@127\.0\.0\.1:9\/none: /.test(e.message) && !e.message.includes('s3cret'),
    );
  });

  test('refresh: one instance reads the rows another changed (the unit a NOTIFY would name)', async () => {
    const pool = await fx.poolFor('refresh');
    const empty = () => ({ version: 1, accounts: {} as Record<string, { status: string }>, note: '' });
    const a = await PgControlStore.open(pool, 'accounts', empty());
    const b = await PgControlStore.open(pool, 'accounts', empty());
    await a.update((d) => { d.accounts.x = { status: 'pending' }; d.accounts.y = { status: 'approved' }; d.note = 'hi'; });
    assert.deepEqual(b.data.accounts, {}, 'not seen before a refresh');
    await b.refresh([['accounts', 'x'], ['note']]);
    assert.deepEqual(b.data.accounts, { x: { status: 'pending' } });
    assert.equal(b.data.note, 'hi');
    await a.update((d) => void delete d.accounts.x);
    await b.refresh([['accounts', 'x'], ['accounts', 'y']]);
    assert.deepEqual(b.data.accounts, { y: { status: 'approved' } });
    await a.update((d) => void (d.accounts = { z: { status: 'denied' } }));
    await b.refresh([['accounts']]);
    assert.deepEqual(b.data.accounts, { z: { status: 'denied' } });
    await a.close();
    await b.close();

    const i1 = await PgItemStore.open(pool);
    const i2 = await PgItemStore.open(pool);
    await i1.append('t', item('one'), 10);
    await i1.append('t', item('two'), 10);
    assert.equal(i2.highSeq('t'), 0);
    await i2.refresh('t');
    assert.deepEqual(i2.list('t').map((i) => [i.seq, i.id]), [[1, 'one'], [2, 'two']]);
    assert.equal((await i2.append('t', item('three'), 2)).seq, 3, 'the seq continues across instances');
    await i1.refresh('t');
    assert.deepEqual(i1.list('t').map((i) => i.id), ['two', 'three'], 'the other instance trimmed to max_items');
    await i1.close();
    await i2.close();
  });

  test('advisory lock: two instances take turns; a holder whose connection dies frees it', async () => {
    const a = await fx.poolFor('advisory');
    const b = new pg.Pool({ connectionString: fx.urlFor('advisory'), max: 2 });
    try {
      const order: string[] = [];
      let releaseA!: () => void;
      const held = new Promise<void>((r) => (releaseA = r));
      let entered!: () => void;
      const aIn = new Promise<void>((r) => (entered = r));
      const first = withAdvisoryLock(a, 'revocation-sweep', async () => {
        order.push('a in');
        entered();
        await held;
        order.push('a out');
      });
      await aIn;
      const second = withAdvisoryLock(b, 'revocation-sweep', async () => void order.push('b in'));
      // b waits on the server for the lock: visible in pg_locks as a lock not granted.
      for (;;) {
        const w = await a.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
        if (w.rows[0].n === 1) break;
        await new Promise((r) => setImmediate(r));
      }
      releaseA();
      await Promise.all([first, second]);
      assert.deepEqual(order, ['a in', 'a out', 'b in']);
      // A holder killed with the lock held (its session ends): the next one gets it.
      const gone = withAdvisoryLock(a, 'revocation-sweep', async () => {
        const pid = (await a.query<{ p: number }>("SELECT pid AS p FROM pg_locks WHERE locktype = 'advisory' AND granted")).rows[0]!.p;
        await b.query('SELECT pg_terminate_backend($1)', [pid]);
      });
      await gone; // what it ran finished; the failed unlock destroys the client, and the lock went with the session
      assert.equal(await withAdvisoryLock(b, 'revocation-sweep', async () => 'taken'), 'taken');
    } finally {
      await b.end();
    }
  });

  test('a connection lost in the middle of a transaction fails that transaction, not the process (pg emits error on a checked-out client)', async () => {
    const pool = await fx.poolFor('lost-mid-transaction');
    await pool.query('CREATE TABLE IF NOT EXISTS lost_t (n integer)');
    let ended = false;
    const r = withTransaction(pool, async (c) => {
      await c.query('INSERT INTO lost_t VALUES (1)');
      const pid = (await c.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p;
      // Between two statements, the server ends this connection (as a restart or a kill would).
      const gone = new Promise<void>((resolve) => (c as unknown as { connection: NodeJS.EventEmitter }).connection.once('end', () => resolve()));
      await pool.query('SELECT pg_terminate_backend($1)', [pid]);
      await gone; // pg has emitted 'error' on the client by now: unheard, that was an uncaught exception
      ended = true;
      await c.query('INSERT INTO lost_t VALUES (2)');
    });
    await assert.rejects(r, /terminat|not queryable|closed/i);
    assert.ok(ended, 'the connection ended while the transaction held it');
    assert.equal((await pool.query('SELECT count(*)::int AS n FROM lost_t')).rows[0].n, 0, 'nothing of it was stored');
    // The pool goes on with a new connection.
    await withTransaction(pool, (c) => c.query('INSERT INTO lost_t VALUES (3)'));
    assert.equal((await pool.query('SELECT count(*)::int AS n FROM lost_t')).rows[0].n, 1);
  });

  test('server outage: writes are refused (never acknowledged), the store recovers when the server is back', async () => {
    const pool = await fx.poolFor('outage');
    const items = await PgItemStore.open(pool);
    const ctl = await PgControlStore.open(pool, 'c', { n: 0 });
    assert.equal((await items.append('t', item('before'), 10)).seq, 1);
    const feed = new ChangeFeed(fx.urlFor('outage'), 'outage-test');
    await feed.start();
    feed.attach({ changes: async () => undefined, resync: async () => undefined });
    await fx.server.kill();
    await assert.rejects(items.append('t', item('during'), 10));
    await assert.rejects(ctl.update((d) => void (d.n = 1)));
    // A cluster instance catches up (sync) before each change of topics: with the server gone it
    // must not stall every such request until the fence's 5 s timeout — the write that follows is
    // refused anyway. It waits at most for the first failed reconnect (250 ms).
    const t0 = Date.now();
    const alive = setInterval(() => undefined, 1000); // the feed's own timers are unref'd (they never hold a controller's exit)
    await feed.sync();
    await feed.sync();
    clearInterval(alive);
    const waited = Date.now() - t0;
    assert.ok(waited < 2500, `sync with the server unreachable answered in ${waited} ms`);
    await feed.stop();
    assert.equal(items.get('t', 'during'), undefined, 'a refused write is not in memory either');
    await fx.server.start();
    assert.equal((await items.append('t', item('after'), 10)).seq, 2, 'the refused append took no seq');
    // The control store takes no change until it has read the stored state back (in a
    // controller the change feed's resync does it, asked for by the failed write).
    await assert.rejects(ctl.update((d) => void (d.n = 3)), /refused until the stored state has been read back/);
    await ctl.refreshAll();
    assert.equal(ctl.data.n, 0, 'the refused change is undone by the read');
    await ctl.update((d) => void (d.n = 2));
    await items.close();
    await ctl.close();
    const again = await PgItemStore.open(pool);
    assert.deepEqual(again.list('t').map((i) => i.id), ['before', 'after']);
    assert.equal((await PgControlStore.open(pool, 'c', { n: 0 })).data.n, 2);
    await again.close();
  });
});
