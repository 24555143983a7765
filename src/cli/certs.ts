// `grid-controller certs dev`: a development PKI for a local Prosody and test nodes
// (PROTOCOL §11). Prints the paths it wrote, never key material.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { writeDevPki, writeNodeCerts } from '../identity/devcerts.js';
import type { DevPkiNode, DevPkiPaths } from '../identity/types.js';
import { registerCertsSign } from './certs-sign.js';

export interface CertsDevOptions {
  out: string;
  domain: string;
  nodes: string;
  ouMap?: string;
  /** Re-issue the server certificate (and make a CA where none is) even if the folder has them. */
  force?: boolean;
}

export interface CertsNodeOptions {
  caDir: string;
  out?: string;
  domain: string;
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

function devNodes(names: string[], ouMap: string | undefined): DevPkiNode[] {
  if (names.length === 0) throw new Error('give at least one node name');
  const ou = parseOuMap(ouMap, names);
  return names.map((name) => (ou[name] ? { name, OU: ou[name] } : name));
}

export function runCertsDev(opts: CertsDevOptions): DevPkiPaths {
  const nodes = devNodes(splitList(opts.nodes), opts.ouMap);
  // A re-issued server certificate, or a new CA beside certificates the grid trusts, breaks a
  // running grid: only on request.
  const existing = ['ca.crt', 'ca.key', 'server.crt', 'server.key'].map((f) => join(opts.out, f)).filter((f) => existsSync(f));
  if (existing.length && !opts.force) {
    throw new Error(`${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}: to add nodes from this CA use ` +
      `\`grid-controller certs node NAME… --ca-dir ${opts.out}\`; --force re-issues the server certificate (the CA is kept)`);
  }
  return writeDevPki({ outDir: opts.out, domain: opts.domain, nodes });
}

export function runCertsNode(names: string[], opts: CertsNodeOptions): Record<string, { cert: string; key: string }> {
  return writeNodeCerts({ caDir: opts.caDir, ...(opts.out ? { outDir: opts.out } : {}), domain: opts.domain, nodes: devNodes(names, opts.ouMap) });
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
      + 'with the id-on-xmppAddr SAN; refuses a folder that already holds a CA or server certificate unless --force '
      + '(then the CA is kept and the rest re-issued)')
    .option('--out <dir>', 'output folder', 'certs-dev/out')
    .option('--domain <domain>', 'XMPP domain (server SAN; node JIDs are <node>@<domain>)', 'grid.test')
    .option('--nodes <list>', 'comma-separated node names', 'provider,soc1,soc2,admin')
    .option('--ou-map <pairs>', 'organizational unit per node, e.g. provider=intel,soc1=soc (default OU = node name)')
    .option('--force', 're-issue the server certificate (and nodes) in a folder that already has a CA')
    .addHelpText('after', '\nWrites ca.crt, ca.key, server.crt, server.key and nodes/<name>.crt|.key; keys are mode 0600.\n'
      + 'For development only: the CA key sits unencrypted next to the certificates.')
    .action((opts: CertsDevOptions) => {
      const paths = runCertsDev(opts);
      process.stdout.write(describe(paths, opts.domain));
    });
  certs
    .command('node <names...>')
    .description('issue node certificates (id-on-xmppAddr <name>@<domain>) from an existing CA; touches nothing else')
    .requiredOption('--ca-dir <dir>', 'folder holding ca.crt and ca.key (e.g. the --out of certs dev)')
    .option('--out <dir>', 'where <name>.crt|.key go (default <ca-dir>/nodes)')
    .option('--domain <domain>', 'XMPP domain (node JIDs are <node>@<domain>)', 'grid.test')
    .option('--ou-map <pairs>', 'organizational unit per node, e.g. siem2=soc (default OU = node name)')
    .action((names: string[], opts: CertsNodeOptions) => {
      const rel = (p: string): string => relative(process.cwd(), p) || '.';
      for (const [name, p] of Object.entries(runCertsNode(names, opts))) {
        process.stdout.write(`node      ${rel(p.cert)}  key ${rel(p.key)}  xmppAddr ${name}@${opts.domain}\n`);
      }
    });
  registerCertsSign(certs);
}
