import type { ControlOnCorrupt } from '../store/types.js';

export type IdentityMode = 'xmppaddr' | 'xmppaddr-or-cn';

export interface Config {
  xmpp: {
    /** The server's component port, e.g. xmpp://127.0.0.1:5347 (XEP-0114 has no TLS: loopback or a private network only). */
    service: string;
    /** The component's JID, e.g. controller.grid.test. */
    domain: string;
    /** The component secret. Prefer GRID_XMPP_SECRET over the file. */
    secret: string;
    /** Upper bound of the reconnect backoff, in milliseconds. */
    reconnect_max_ms: number;
    /**
     * `auto`: where the nodes' server offers XEP-0033 multicast to the controller (Prosody with
     * src/prosody/mod_grid_multicast.lua), send one notification per group of identical ones
     * and let the server copy it; else one per subscriber. `off`: always one per subscriber.
     */
    multicast: 'auto' | 'off';
  };
  trust: {
    ca: string[];
    crl: string[];
    identity: IdentityMode;
  };
  policies: string;
  data: string;
  limits: {
    payload_bytes: number;
    /**
     * Largest answer the controller sends (query pages, items): keep it below the server's
     * limit for the component stream (Prosody: component_stanza_size_limit, 512 KiB), which
     * closes the whole component stream when exceeded. Pages are cut to fit and say so (RSM).
     */
    stanza_bytes: number;
    /** Subscriptions one account may hold (all topics). */
    subscriptions_per_account: number;
    /** Distinct filters (subtopics) one topic may have: each costs every publish a match. */
    subtopics_per_topic: number;
    /** Topics one account may create with XEP-0060 create (policy topics do not count). */
    topics_per_account: number;
    /** Largest pubsub#max_items a created or configured topic may have (policy topics are the administrator's). */
    max_items: number;
    /** Filter values one subscription may declare, over all its fields. */
    filter_values: number;
    /** UTF-8 bytes of one subscription's filter values together. */
    filter_bytes: number;
  };
  log: {
    level: string;
  };
  admin: {
    /** Unix socket for the CLI while the controller runs; default <data>/admin.sock. */
    socket: string;
  };
  store: {
    /**
     * `files` (default): the embedded store in `data` (one instance). `postgres`: PostgreSQL at
     * `store.url`, shared by the instances of a cluster (docs/protocol.md §14).
     */
    kind: 'files' | 'postgres';
    /** postgres://user:password@host:port/database (kind postgres); a secret: never logged whole. */
    url: string;
    /**
     * Files store: accounts.json/topics.json take changes in their journal and are rewritten
     * (folded) once the journal outgrows max(this, the file's size). Default 1 MiB.
     */
    journal_fold_bytes: number;
    /**
     * Bytes of item payloads kept in memory (least recently used go first); the others are
     * read back from the topic logs when asked for. Default 32 MiB.
     */
    cache_bytes: number;
    /**
     * When accounts.json or topics.json does not parse at start: `refuse` (default) stops with
     * one line naming the file, its `.bak` and how to restore it; `backup` starts from the
     * `.bak` (the snapshot before the last fold: the changes since, perhaps a revocation, are
     * lost), logged at error. Also what a damaged journal does (`backup`: keep the changes
     * before the damage).
     */
    control_on_corrupt: ControlOnCorrupt;
  };
  memory: {
    /**
     * After a burst, once the event loop has been idle for two 5 s checks and V8's heap has grown
     * since the last time, run one full garbage collection so the pages the burst grew go back to
     * the system (V8 runs no collection while nothing allocates). Default true.
     */
    idle_gc: boolean;
  };
  metrics: {
    /** host:port of the Prometheus endpoint (/metrics, /healthz), e.g. 127.0.0.1:9464; '' = off. */
    listen: string;
  };
  /** PROTOCOL §13: the HTTPS server (TAXII 2.1 door; the admin console mounts on it too). */
  taxii: {
    /** host:port; '' = no HTTPS server. */
    listen: string;
    cert: string;
    key: string;
    /** Absolute base written into discovery; '' = the bound https://host:port. No trailing slash. */
    public_url: string;
    api_root: string;
    /** Also accept HTTP Basic with per-account tokens (`grid-controller accounts token JID`). */
    basic: boolean;
    page_default: number;
    page_max: number;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
    readonly source?: string,
  ) {
    super(`config ${key}: ${problem}${source ? ` (${source})` : ''}`);
    this.name = 'ConfigError';
  }
}
