// One real PostgreSQL per test file (postgres.ts), a schema per store location so tests never
// see each other's rows, and the pools closed at the end.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { startPostgres, type PgServer } from './postgres.js';
import { migrate } from '../../src/store/pg/migrate.js';

export interface PgFixture {
  server: PgServer;
  /** A migrated pool on its own schema, one per `location` (the same one when asked again). */
  poolFor(location: string): Promise<pg.Pool>;
  /** The URL of that schema (for child processes). */
  urlFor(location: string): string;
  close(): Promise<void>;
}

const schemaOf = (location: string) => `t_${createHash('sha256').update(location).digest('hex').slice(0, 16)}`;

export async function pgFixture(): Promise<PgFixture> {
  const server = await startPostgres();
  const admin = new pg.Pool({ connectionString: server.url, max: 2 });
  admin.on('error', () => undefined);
  const pools = new Map<string, Promise<pg.Pool>>();
  return {
    server,
    urlFor: (location) => server.urlFor({ schema: schemaOf(location) }),
    poolFor(location) {
      let p = pools.get(location);
      if (!p) {
        p = (async () => {
          await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schemaOf(location)}`);
          const pool = new pg.Pool({ connectionString: server.urlFor({ schema: schemaOf(location) }), max: 10 });
          pool.on('error', () => undefined);
          await migrate(pool);
          return pool;
        })();
        pools.set(location, p);
      }
      return p;
    },
    async close() {
      for (const p of pools.values()) await (await p).end();
      await admin.end();
      await server.stop();
    },
  };
}
