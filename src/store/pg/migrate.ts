// Applies MIGRATIONS at start: one transaction, serialized across instances starting together
// by an advisory lock, recorded in grid_schema_version. A database newer than this controller
// knows is refused (never guess at a schema), as the files store refuses a newer data format.
import type pg from 'pg';
import { MIGRATIONS } from './migrations.js';
import { checkout } from './pool.js';

/** Any number: the key of the advisory lock that serializes migrations. */
const MIGRATION_LOCK = 0x47524944; // "GRID"

export class SchemaVersionError extends Error {}

export async function migrate(pool: pg.Pool): Promise<{ from: number; to: number }> {
  // Its own error listener while it holds the client (a server lost mid-migration fails the start, never the process).
  const { c, release } = await checkout(pool);
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await c.query(`CREATE TABLE IF NOT EXISTS grid_schema_version (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const r = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM grid_schema_version');
    const from = r.rows[0]?.v ?? 0;
    const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    if (from > latest) {
      throw new SchemaVersionError(`the database schema is at version ${from}; this grid-controller knows versions up to ${latest}: run the newer version, or restore the database backup taken before the upgrade`);
    }
    for (const m of MIGRATIONS) {
      if (m.version <= from) continue;
      await c.query(m.sql);
      await c.query('INSERT INTO grid_schema_version (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
    await c.query('COMMIT');
    return { from, to: latest };
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    release();
  }
}
