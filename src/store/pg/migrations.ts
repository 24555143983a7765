// The PostgreSQL store's schema, one migration per version, applied in order at start inside
// one transaction (migrate.ts). Never edit a released migration: add the next one.
//
// control_rows: a ControlStore's state as rows. Each top-level key `k` of the state is one row
//   [k] holding its value — or, when the value is a JSON object (a map such as accounts or
//   subscriptions), a row [k] holding {} and one row [k, e] per entry, so a change to one entry
//   writes one row. `ord` keeps the order in which keys were added (JS object order).
// item_topics: per topic, the highest seq ever assigned; the row is locked by the UPDATE that
//   takes the next seq, so instances appending to one topic take turns: no gap, no repeat.
// items: the stored items (the newest max_items of each topic).
// challenges (v2): registration challenges (PROTOCOL §2), so that a submit may reach any
//   instance of a cluster (§14): single use (consumed by DELETE … RETURNING), bound to a JID.
// instances (v2): the controllers of a cluster and their heartbeat (`grid-controller status`).
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'init',
    sql: `
CREATE TABLE control_rows (
  store text NOT NULL,
  path text[] NOT NULL CHECK (array_length(path, 1) BETWEEN 1 AND 2),
  ord bigserial NOT NULL,
  value json NOT NULL,
  PRIMARY KEY (store, path)
);
CREATE TABLE item_topics (
  topic text PRIMARY KEY,
  high_seq bigint NOT NULL CHECK (high_seq >= 0)
);
CREATE TABLE items (
  topic text NOT NULL REFERENCES item_topics (topic),
  seq bigint NOT NULL,
  id text NOT NULL,
  publisher text NOT NULL,
  published text NOT NULL,
  payload text NOT NULL,
  PRIMARY KEY (topic, seq),
  UNIQUE (topic, id)
);
`,
  },
  {
    version: 2,
    name: 'cluster',
    sql: `
CREATE TABLE challenges (
  nonce text PRIMARY KEY,
  jid text NOT NULL,
  issued bigint NOT NULL,
  expires bigint NOT NULL
);
CREATE INDEX challenges_jid ON challenges (jid, issued);
CREATE INDEX challenges_expires ON challenges (expires);
CREATE TABLE instances (
  id text PRIMARY KEY,
  host text NOT NULL,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  info json NOT NULL
);
`,
  },
];
