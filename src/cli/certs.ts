// `grid-controller certs dev`: a development PKI for a local Prosody and test nodes
// (PROTOCOL §11). Prints the paths it wrote, never key material.
import { relative } from 'node:path';
import type { Command } from 'commander';
import { writeDevPki } from '../identity/devcerts.js';
import type { DevPkiNode, DevPkiPaths } from '../identity/types.js';
import { registerCertsSign } from './certs-sign.js';

export interface CertsDevOptions {
  out: string;
  domain: string;
  nodes: string;
  ouMap?: string;
}

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** "provider=intel,soc1=soc" → { provider: 'intel', soc1: 'soc' } */
export function parseOuMap(value: string | undefined, nodes: string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of splitList(value ?? '')) {
    const eq = pair.indexOf('=');
    const node = pair.slice(0, eq).trim();
    const ou = pair.slice(eq + 1).trim();
    if (eq <= 0 || ou === '') throw new Error(`--ou-map: "${pair}" is not node=ou`);
    if (!nodes.includes(node)) throw new Error(`--ou-map: "${node}" is not one of --nodes (${nodes.join(',')})`);
    map[node] = ou;
  }
  return map;
}

export function runCertsDev(opts: CertsDevOptions): DevPkiPaths {
  const names = splitList(opts.nodes);
  if (names.length === 0) throw new Error('--nodes: give at least one node name');
  const ou = parseOuMap(opts.ouMap, names);
  const nodes: DevPkiNode[] = names.map((name) => (ou[name] ? { name, OU: ou[name] } : name));
  return writeDevPki({ outDir: opts.out, domain: opts.domain, nodes });
}

function describe(paths: DevPkiPaths, domain: string): string {
  const rel = (p: string): string => relative(process.cwd(), p) || '.';
  const lines = [
    `CA        ${rel(paths.ca.cert)} ${paths.caReused ? '(kept existing)' : '(new)'}  key ${rel(paths.ca.key)} (0600)`,
    `server    ${rel(paths.server.cert)}  key ${rel(paths.server.key)}  SAN ${domain}, *.${domain}, localhost`,
  ];
  for (const [name, p] of Object.entries(paths.nodes)) {
    lines.push(`node      ${rel(p.cert)}  key ${rel(p.key)}  xmppAddr ${name}@${domain}`);
  }
  lines.push(`trust.ca for the controller: ${rel(paths.ca.cert)}`);
  return `${lines.join('\n')}\n`;
}

export function registerCertsCommand(program: Command): void {
  const certs = program.command('certs').description('certificates for grid nodes and the XMPP server');
  certs
    .command('dev')
    .description('make a development CA, a server certificate for the XMPP domain and node certificates '
      + 'with the id-on-xmppAddr SAN (an existing CA in the folder is kept; everything else is re-issued)')
    .option('--out <dir>', 'output folder', 'certs-dev/out')
    .option('--domain <domain>', 'XMPP domain (server SAN; node JIDs are <node>@<domain>)', 'grid.test')
    .option('--nodes <list>', 'comma-separated node names', 'provider,soc1,soc2,admin')
    .option('--ou-map <pairs>', 'organizational unit per node, e.g. provider=intel,soc1=soc (default OU = node name)')
    .addHelpText('after', '\nWrites ca.crt, ca.key, server.crt, server.key and nodes/<name>.crt|.key; keys are mode 0600.\n'
      + 'For development only: the CA key sits unencrypted next to the certificates.')
    .action((opts: CertsDevOptions) => {
      const paths = runCertsDev(opts);
      process.stdout.write(describe(paths, opts.domain));
    });
  registerCertsSign(certs);
}
