// The real PostgreSQL for tests lives in src/devgrid/postgres.ts (the cluster demo and the
// benchmark start one too).
export * from '../../src/devgrid/postgres.js';
