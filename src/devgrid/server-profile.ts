// What differs between the XMPP servers the grid runs on, in one place: how to start each,
// where its XEP-0033 service lives, what a node gets back while the controller is down,
// what its certificate login lets through, and which test files only make sense on one of
// them. Tests, the demo and the benchmark read these facts here instead of naming a server.
import { existsSync, readFileSync } from 'node:fs';
import { CONTROLLER_DOWN_BOUNCES, type ServerBounce } from '../agent/server-bounce.js';
import { ejabberdVersion, startEjabberd } from './ejabberd.js';
import { startProsody } from './prosody.js';
import type { EjabberdOptions, ProsodyOptions, ServerHandle, ServerKind } from './types.js';

export type { ServerKind } from './types.js';

/** Options for either server; the ones a server does not have are ignored by it. */
export type AnyServerOptions = ProsodyOptions & EjabberdOptions;

export interface ServerProfile {
  kind: ServerKind;
  /** For screens and results, e.g. `Prosody` or `ejabberd`. */
  name: string;
  /** The installed version, when it can be read. */
  version(): string | undefined;
  start(opts: AnyServerOptions): Promise<ServerHandle>;
  /** Where the dev grid's XEP-0033 service answers (XEP-0033 §2.2: the domain itself, or an item of it). */
  multicastJid(domain: string): string;
  /** The error a node gets for a stanza to the controller while the component is not connected. */
  controllerDown: ServerBounce;
  /**
   * Whether a CA-signed certificate WITHOUT an xmppAddr logs in, as whatever authzid the node
   * names (ejabberd 23.01 does; Prosody's mod_auth_ccert refuses). The controller must then
   * not trust a JID for administration on its certificate login alone (README, ejabberd).
   */
  acceptsCertWithoutXmppAddr: boolean;
  /** Text the generated config must hold: loopback listeners, certificate login, the component (harness test). */
  configMarks(h: ServerHandle): string[];
  /** How a start fails when another process holds the c2s port. */
  portTakenError(port: number): RegExp;
  /**
   * The raw reasons a node sees for transport mistakes (agent-failures test): a plain stream
   * sent to the direct-TLS port, and a certificate from a CA the server does not trust.
   */
  transportReasons: { plainOnTlsPort: RegExp; untrustedCert: RegExp; wrongDomain: RegExp; wrongController: RegExp; wrongControllerHint: RegExp };
}

function prosodyVersion(): string | undefined {
  const p = '/usr/lib/prosody/prosody.version';
  return existsSync(p) ? readFileSync(p, 'utf8').trim() : undefined;
}

export const PROFILES: Record<ServerKind, ServerProfile> = {
  prosody: {
    kind: 'prosody',
    name: 'Prosody',
    version: prosodyVersion,
    start: startProsody,
    multicastJid: (domain) => domain,
    controllerDown: CONTROLLER_DOWN_BOUNCES.prosody,
    acceptsCertWithoutXmppAddr: false,
    configMarks: (h) => ['authentication = "ccert"', `c2s_direct_tls_ports = { ${h.ports.c2sTls} }`,
      `Component "${h.componentJid}"`, `Component "pubsub.${h.domain}" "pubsub"`, 'interfaces = { "127.0.0.1" }'],
    portTakenError: (port) => new RegExp(`Failed to open server port ${port}|not Prosody's listener on port\\(s\\): c2s ${port}`),
    // Prosody resets the TCP connection; mod_auth_ccert answers an untrusted chain account-disabled.
    transportReasons: { plainOnTlsPort: /ECONNRESET/, untrustedCert: /SASL EXTERNAL failed: account-disabled/,
      wrongDomain: /unrecognized name/, wrongController: /Communication with remote domains is not enabled/,
      wrongControllerHint: /no controller at the JID in --controller/ },
  },
  ejabberd: {
    kind: 'ejabberd',
    name: 'ejabberd',
    version: ejabberdVersion,
    start: startEjabberd,
    multicastJid: (domain) => `multicast.${domain}`,
    controllerDown: CONTROLLER_DOWN_BOUNCES.ejabberd,
    acceptsCertWithoutXmppAddr: true,
    configMarks: (h) => [`- port: ${h.ports.c2sTls}\n    ip: 127.0.0.1\n    module: ejabberd_c2s\n    backlog: 1024\n    tls: true\n    tls_verify: true`,
      `- port: ${h.ports.c2s}\n    ip: 127.0.0.1\n    module: ejabberd_c2s\n    backlog: 1024\n    starttls_required: true\n    tls_verify: true`,
      `- port: ${h.ports.component}\n    ip: 127.0.0.1\n    module: ejabberd_service`, `${h.componentJid}:\n        password:`,
      'disable_sasl_mechanisms:\n  - PLAIN', 's2s_access: none', `host: pubsub.${h.domain}`],
    portTakenError: (port) => new RegExp(`could not listen on 127\\.0\\.0\\.1:${port} \\(eaddrinuse\\)|not ejabberd's listener on port\\(s\\): c2s ${port}`),
    // ejabberd closes the connection without a reason; an untrusted chain is not-authorized.
    transportReasons: { plainOnTlsPort: /XMPP stream with xmpp:\/\/\S+ failed/, untrustedCert: /SASL EXTERNAL failed: not-authorized/,
      // No SNI refusal: Node's own name check speaks. With s2s off, a JID of no component is
      // bounced exactly like a controller that is down ("Access denied by service policy").
      wrongDomain: /does not match certificate's altnames/, wrongController: /forbidden: Access denied by service policy/,
      wrongControllerHint: /--controller names no component there/ },
  },
};

export const SERVER_KINDS = Object.keys(PROFILES) as ServerKind[];

/** The environment variable that picks the server of the integration suite (scripts/run-tests.mjs sets it). */
export const TEST_SERVER_ENV = 'GRID_TEST_SERVER';

export function parseServerKind(value: string): ServerKind {
  if (value in PROFILES) return value as ServerKind;
  throw new Error(`unknown XMPP server "${value}": expected ${SERVER_KINDS.join(' or ')}`);
}

/** The server the dev grid starts when none is named: $GRID_TEST_SERVER, else Prosody. */
export function defaultServer(env: NodeJS.ProcessEnv = process.env): ServerKind {
  const v = env[TEST_SERVER_ENV];
  return v ? parseServerKind(v) : 'prosody';
}

export function profileOf(kind: ServerKind = defaultServer()): ServerProfile {
  return PROFILES[kind];
}

/**
 * Integration test files that only make sense on one server, by file name. Every other file
 * runs on every server. mod_grid_multicast is the project's own Prosody module (its sender
 * list, its refusal of clients); ejabberd's multicast is tested by ejabberd-multicast.test.
 */
export const ONLY_ON: Record<string, ServerKind> = {
  'multicast.test.js': 'prosody',
  'ejabberd-multicast.test.js': 'ejabberd',
  // A cluster of controllers needs several connections for one component: ejabberd only (§14).
  'cluster.test.js': 'ejabberd',
  'cluster-faults.test.js': 'ejabberd',
  // The console is HTTP over the core: one server is enough to drive chromium against.
  'console-browser.test.js': 'prosody',
};
