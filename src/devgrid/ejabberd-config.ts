// Renders ejabberd 23.01's ejabberd.yml for the development grid. Pure: input in, YAML out
// (built as an object and serialised by the yaml package, never by string templates). This is
// the config the integration suite runs on, and the one README's ejabberd section shows.
import { isAbsolute } from 'node:path';
import { stringify } from 'yaml';
import type { ServerConfigInput } from './types.js';

/** ServerConfigInput (pubsubComponent: mod_pubsub at pubsub.<domain>, the benchmark's baseline), plus mod_multicast. */
export interface EjabberdConfigInput extends ServerConfigInput {
  /** mod_multicast at multicast.<domain>. */
  multicast: boolean;
  /** `limits: remote: message:` of mod_multicast; undefined keeps ejabberd's 20 (not advertised). */
  multicastRemoteLimit?: number;
  /**
   * A cluster (§14): N controllers connect as the component. `domain_balancing` type
   * bare_source keeps each node's stanzas on one connection (its order holds, and replies to
   * a controller's own requests come back to it). ejabberd 23.01 crashes the component
   * handshake when domain_balancing has no component_number: it is always written.
   */
  componentNumber?: number;
}

/** Every SASL mechanism that checks a password: nodes log in with their certificate only (EXTERNAL). */
export const PASSWORD_MECHANISMS = ['PLAIN', 'DIGEST-MD5', 'X-OAUTH2', 'SCRAM-SHA-1', 'SCRAM-SHA-1-PLUS',
  'SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS', 'SCRAM-SHA-512', 'SCRAM-SHA-512-PLUS'];

/**
 * Pending connections a listener queues. ejabberd's default of 5 makes a burst of logins (the
 * benchmark's fleet, a test's hundreds of nodes) wait for SYN retransmits: 1 s, 3 s, 7 s…
 */
const BACKLOG = 1024;

const LOG_LEVELS: Record<string, string> = { debug: 'debug', info: 'info', warn: 'warning', error: 'error' };

export function checkEjabberdInput(c: EjabberdConfigInput): string[] {
  const problems: string[] = [];
  if (c.componentJid === c.domain) problems.push('componentJid must differ from domain');
  for (const [name, p] of Object.entries({ caFile: c.caFile, certFile: c.certFile, keyFile: c.keyFile })) {
    if (!isAbsolute(p)) problems.push(`${name} must be an absolute path, got "${p}"`);
  }
  if (c.componentSecret.length < 8) problems.push('componentSecret must have at least 8 characters');
  if (new Set(Object.values(c.ports)).size !== 3) problems.push('c2s, c2sTls and component ports must differ');
  if (!LOG_LEVELS[c.logLevel]) problems.push(`logLevel "${c.logLevel}" is not one of ${Object.keys(LOG_LEVELS).join(', ')}`);
  const limit = c.multicastRemoteLimit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) problems.push(`multicastRemoteLimit ${limit} must be a positive integer`);
  const n = c.componentNumber;
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) problems.push(`componentNumber ${n} must be a positive integer`);
  return problems;
}

/** A client listener: loopback, certificate required and verified against c2s_cafile. */
function c2sListener(port: number, tls: boolean, maxStanzaSize: number): Record<string, unknown> {
  return {
    port, ip: '127.0.0.1', module: 'ejabberd_c2s', backlog: BACKLOG,
    ...(tls ? { tls: true } : { starttls_required: true }),
    tls_verify: true, max_stanza_size: maxStanzaSize, shaper: 'none',
  };
}

function modules(c: EjabberdConfigInput): Record<string, unknown> {
  const m: Record<string, unknown> = { mod_disco: {}, mod_ping: {} };
  if (c.multicast) {
    // A component is a "remote" sender to mod_multicast; its default limit is 20 addresses.
    m.mod_multicast = c.multicastRemoteLimit === undefined ? {} : { limits: { remote: { message: c.multicastRemoteLimit } } };
  }
  if (c.pubsubComponent) {
    m.mod_pubsub = { host: `pubsub.${c.domain}`, access_createnode: 'all', plugins: ['flat'] };
  }
  return m;
}

export function renderEjabberdConfig(c: EjabberdConfigInput): string {
  const problems = checkEjabberdInput(c);
  if (problems.length) throw new Error(`invalid ejabberd config: ${problems.join('; ')}`);
  const config = {
    hosts: [c.domain],
    loglevel: LOG_LEVELS[c.logLevel],
    log_rotate_count: 0,
    // Without certfiles every client TLS handshake fails with no_certfile.
    certfiles: [c.certFile, c.keyFile],
    ca_file: c.caFile,
    c2s_cafile: c.caFile,
    acme: { auto: false },
    // No s2s: a stanza to a disconnected component would otherwise go to DNS and bounce after 62 s.
    s2s_access: 'none',
    disable_sasl_mechanisms: PASSWORD_MECHANISMS,
    listen: [
      c2sListener(c.ports.c2s, false, c.c2sStanzaSizeLimit),
      c2sListener(c.ports.c2sTls, true, c.c2sStanzaSizeLimit),
      {
        port: c.ports.component, ip: '127.0.0.1', module: 'ejabberd_service', backlog: BACKLOG,
        max_stanza_size: c.componentStanzaSizeLimit, shaper: 'none',
        hosts: { [c.componentJid]: { password: c.componentSecret } },
      },
    ],
    modules: modules(c),
    ...(c.componentNumber ? { domain_balancing: { [c.componentJid]: { type: 'bare_source', component_number: c.componentNumber } } } : {}),
  };
  return `# Generated by src/devgrid/ejabberd-config.ts for a development grid. Do not edit.\n${stringify(config)}`;
}
