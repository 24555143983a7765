// The server configs an operator is told to use (contrib/prosody-grid.cfg.lua and
// contrib/ejabberd-grid.yml), made runnable on loopback for a test: the snippet's placeholders
// (grid.example, the /etc paths, its ports, CHANGE-ME) replaced by this instance's values, and
// only what a snippet leaves to the operator's own config added (pid, data and log paths,
// plugin paths, loopback addresses, a log level). Nothing of the grid's settings is added or
// changed here: what the snippet does not say, the test does not get. A placeholder that is no
// longer in the file is an error, so editing a snippet cannot silently leave the test behind.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { luaString } from './prosody-config.js';
import type { EjabberdConfigInput } from './ejabberd-config.js';
import type { ProsodyConfigInput } from './types.js';

export const CONTRIB_DIR = fileURLToPath(new URL('../../../contrib/', import.meta.url));
export const CONTRIB_PROSODY = `${CONTRIB_DIR}prosody-grid.cfg.lua`;
export const CONTRIB_EJABBERD = `${CONTRIB_DIR}ejabberd-grid.yml`;

/** Replaces every occurrence of each key; throws when one is not in the text at all. */
function substitute(text: string, file: string, table: [string, string][]): string {
  let out = text;
  for (const [from, to] of table) {
    if (!out.includes(from)) throw new Error(`${file} no longer contains ${JSON.stringify(from)}: update src/devgrid/contrib-config.ts with it`);
    out = out.split(from).join(to);
  }
  return out;
}

/** The part of prosody.cfg.lua an operator already has (Debian's usual modules) and this instance's paths. */
function prosodyBase(c: ProsodyConfigInput): string[] {
  return [
    '-- Base config of a throwaway Prosody (src/devgrid/contrib-config.ts); the grid settings follow from contrib/.',
    ...(c.runAsRoot ? ['run_as_root = true'] : []),
    `pidfile = ${luaString(c.pidFile)}`,
    `data_path = ${luaString(c.dataDir)}`,
    `plugin_paths = { ${c.pluginPaths.map(luaString).join('; ')} }`,
    `log = { { levels = { min = ${luaString(c.logLevel)} }, to = "file", filename = ${luaString(c.logFile)} } }`,
    'interfaces = { "127.0.0.1" }',
    'local_interfaces = { "127.0.0.1" }',
    `c2s_ports = { ${c.ports.c2s} }`,
    'c2s_interfaces = { "127.0.0.1" }',
    'c2s_direct_tls_interfaces = { "127.0.0.1" }',
    's2s_ports = { }',
    'legacy_ssl_ports = { }',
    'modules_enabled = { "roster"; "saslauth"; "tls"; "disco"; "ping"; "time"; "version" }',
    '',
  ];
}

export function contribProsodyConfig(c: ProsodyConfigInput, file = CONTRIB_PROSODY): string {
  const grid = substitute(readFileSync(file, 'utf8'), file, [
    ['"/etc/prosody/certs/grid.example.crt"', luaString(c.certFile)],
    ['"/etc/prosody/certs/grid.example.key"', luaString(c.keyFile)],
    ['"/etc/grid-controller/ca/grid-ca.crt"', luaString(c.caFile)],
    ['"controller.grid.example"', luaString(c.componentJid)],
    ['"grid.example"', luaString(c.domain)],
    ['c2s_direct_tls_ports = { 5223 }', `c2s_direct_tls_ports = { ${c.ports.c2sTls} }`],
    ['component_ports = { 5347 }', `component_ports = { ${c.ports.component} }`],
    ['"CHANGE-ME"', luaString(c.componentSecret)],
  ]);
  return [...prosodyBase(c), grid].join('\n');
}

type Listener = Record<string, unknown> & { port: number };
const LOG_LEVELS: Record<string, string> = { debug: 'debug', info: 'info', warn: 'warning', error: 'error' };

export function contribEjabberdConfig(c: EjabberdConfigInput, file = CONTRIB_EJABBERD): string {
  const text = substitute(readFileSync(file, 'utf8'), file, [
    ['/etc/ejabberd/grid.example.pem', c.certFile],
    ['/etc/grid-controller/ca/grid-ca.crt', c.caFile],
    ['controller.grid.example:', `${JSON.stringify(c.componentJid)}:`],
    ['- grid.example', `- ${JSON.stringify(c.domain)}`],
    ['"CHANGE-ME"', JSON.stringify(c.componentSecret)],
  ]);
  const config = parse(text) as Record<string, unknown> & { certfiles: string[]; listen: Listener[] };
  // The snippet names one PEM holding certificate and key; the dev PKI writes two files.
  config.certfiles = [c.certFile, c.keyFile];
  const ports: Record<number, number> = { 5222: c.ports.c2s, 5223: c.ports.c2sTls, 5347: c.ports.component };
  for (const l of config.listen) {
    const port = ports[l.port];
    if (port === undefined) throw new Error(`${file}: listener on port ${l.port} is not one the test knows (5222, 5223, 5347)`);
    Object.assign(l, { port, ip: '127.0.0.1' });
  }
  // What the operator's own ejabberd.yml decides: logging, and no ACME on a test machine.
  Object.assign(config, { loglevel: LOG_LEVELS[c.logLevel] ?? 'info', log_rotate_count: 0, acme: { auto: false } });
  return `# contrib/ejabberd-grid.yml made runnable on loopback by src/devgrid/contrib-config.ts.\n${stringify(config)}`;
}
