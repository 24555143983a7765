// Vocabulary of the development grid: a throwaway Prosody that tests and demos start and stop.

export interface ProsodyPorts {
  /** Client-to-server with STARTTLS (RFC 6120). */
  c2s: number;
  /** Client-to-server with direct TLS (XEP-0368). */
  c2sTls: number;
  /** XEP-0114 external components (plain TCP: loopback only). */
  component: number;
}

export interface ProsodyOptions {
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
   * Load the project's mod_grid_multicast (XEP-0033 for the controller) on the VirtualHost,
   * with the controller component as its only permitted sender. Default true.
   */
  multicast?: boolean;
  /** Instead of the controller, these components may multicast (to test a server that refuses it). */
  multicastSenders?: string[];
  /** Minimum Prosody log level: debug, info, warn, error. Default `info`. */
  logLevel?: string;
  /** Largest stanza a node may send, bytes. Default 256 KiB (Prosody's own default). */
  c2sStanzaSizeLimit?: number;
  /** Largest stanza the component may send, bytes. Default 512 KiB (Prosody's own default). */
  componentStanzaSizeLimit?: number;
  /** Startup deadline in ms. Default 10 000. */
  startTimeoutMs?: number;
}

/** Everything the config template needs, all resolved and absolute. */
export interface ProsodyConfigInput {
  domain: string;
  componentJid: string;
  componentSecret: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  ports: ProsodyPorts;
  dataDir: string;
  pidFile: string;
  logFile: string;
  logLevel: string;
  pluginPaths: string[];
  pubsubComponent: boolean;
  pubsubAdmins?: string[];
  /** Components allowed to use mod_grid_multicast; empty or absent: the module is not loaded. */
  multicastSenders?: string[];
  runAsRoot: boolean;
  c2sStanzaSizeLimit: number;
  componentStanzaSizeLimit: number;
}

export interface ProsodyHandle {
  ports: ProsodyPorts;
  domain: string;
  componentJid: string;
  /** `pubsub.<domain>` when Prosody's pubsub service is on, else undefined. */
  pubsubJid?: string;
  dataDir: string;
  configFile: string;
  logFile: string;
  /** OS process id of prosody (for tests that check it is gone). */
  pid: number;
  /** SIGTERM, SIGKILL after a grace period, then removes the temp dir (if we made it). */
  stop(): Promise<void>;
}
