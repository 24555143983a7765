// Vocabulary of the development grid: a throwaway XMPP server (Prosody or ejabberd) that tests,
// the demo and the benchmark start and stop.

/** The XMPP servers the dev grid can run; what differs between them is in server-profile.ts. */
export type ServerKind = 'prosody' | 'ejabberd';

export interface ServerPorts {
  /** Client-to-server with STARTTLS (RFC 6120). */
  c2s: number;
  /** Client-to-server with direct TLS (XEP-0368). */
  c2sTls: number;
  /** XEP-0114 external components (plain TCP: loopback only). */
  component: number;
}

export type ProsodyPorts = ServerPorts;

/** What every server of the dev grid is started with. */
export interface ServerOptions {
  /** XMPP domain (VirtualHost). Default `grid.test`. */
  domain?: string;
  /** JID of the controller component. Default `controller.<domain>`. */
  componentJid?: string;
  /** XEP-0114 shared secret of the controller component. */
  componentSecret: string;
  /** PEM file of the CA that issues node certificates (client certificate trust anchor). */
  caFile: string;
  /** Server certificate (SAN dNSName = domain) and its key, PEM files. */
  certFile: string;
  keyFile: string;
  /** Fixed ports; any left out are picked free on 127.0.0.1. */
  ports?: Partial<ProsodyPorts>;
  /** Data directory; default a fresh temp dir, removed by stop(). A given one is kept. */
  dataDir?: string;
  /** Prosody's own mod_pubsub at `pubsub.<domain>`. Default true. */
  pubsubComponent?: boolean;
  /** Bare JIDs made admins (owners) of that pubsub service: Prosody 0.12 lets only admins create nodes. */
  pubsubAdmins?: string[];
  /**
   * XEP-0033 for the controller. Prosody: the project's mod_grid_multicast on the VirtualHost,
   * the controller component its only permitted sender. ejabberd: mod_multicast at
   * `multicast.<domain>`. Default true.
   */
  multicast?: boolean;
  /** Minimum log level: debug, info, warn, error. Default `info`. */
  logLevel?: string;
  /** Largest stanza a node may send, bytes. Default 256 KiB (Prosody's own default). */
  c2sStanzaSizeLimit?: number;
  /** Largest stanza the component may send, bytes. Default 512 KiB (Prosody's own default). */
  componentStanzaSizeLimit?: number;
  /** Startup deadline in ms. Default 10 000 (ejabberd: 20 000). */
  startTimeoutMs?: number;
  /**
   * `generated` (default): the dev grid's own config (prosody-config.ts, ejabberd-config.ts).
   * `contrib`: the snippet operators are given, contrib/*, made runnable (contrib-config.ts).
   */
  config?: 'generated' | 'contrib';
}

export interface ProsodyOptions extends ServerOptions {
  /** Instead of the controller, these components may multicast (to test a server that refuses it). */
  multicastSenders?: string[];
}

export interface EjabberdOptions extends ServerOptions {
  /**
   * mod_multicast's `limits: remote: message:` (addresses per message from a component).
   * Default: not set, so ejabberd's own limit of 20 applies and is not advertised.
   */
  multicastRemoteLimit?: number;
  /**
   * A cluster of this many controllers (docs/protocol.md §14): `domain_balancing` with
   * `type: bare_source`, so each node's stanzas stay on one component connection.
   */
  componentNumber?: number;
}

/** What either server's generated config is built from, all resolved and absolute. */
export interface ServerConfigInput {
  domain: string;
  componentJid: string;
  componentSecret: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  ports: ServerPorts;
  logLevel: string;
  pubsubComponent: boolean;
  c2sStanzaSizeLimit: number;
  componentStanzaSizeLimit: number;
}

/** Everything the Prosody config template needs, all resolved and absolute. */
export interface ProsodyConfigInput extends ServerConfigInput {
  dataDir: string;
  pidFile: string;
  logFile: string;
  pluginPaths: string[];
  pubsubAdmins?: string[];
  /** Components allowed to use mod_grid_multicast; empty or absent: the module is not loaded. */
  multicastSenders?: string[];
  runAsRoot: boolean;
}

export interface ServerHandle {
  kind: ServerKind;
  ports: ServerPorts;
  domain: string;
  componentJid: string;
  /** `pubsub.<domain>` when the server's own pubsub service is on, else undefined. */
  pubsubJid?: string;
  dataDir: string;
  configFile: string;
  logFile: string;
  /** OS process id of the server (for tests that check it is gone). */
  pid: number;
  /** SIGTERM, SIGKILL after a grace period, then removes the temp dir (if we made it). */
  stop(): Promise<void>;
}

/** @deprecated the handle is the same for both servers: use ServerHandle. */
export type ProsodyHandle = ServerHandle;
