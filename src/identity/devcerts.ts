// Development PKI on disk (PROTOCOL §11 `certs dev`): ca.crt/ca.key, server.crt/server.key
// and nodes/<name>.crt/.key. Re-running keeps the CA, so certificates issued before (and
// trust configured against ca.crt) stay valid, and re-issues everything else.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createCa, issueNodeCert, issueServerCert } from './issue.js';
import type { DevPkiNode, DevPkiOptions, DevPkiPaths, NodeCertSpec, Pem } from './types.js';

export { createCa, createCrl, issueIntermediateCa, issueNodeCert, issueServerCert, publicKeyPem } from './issue.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function writePublic(path: string, data: string): void {
  writeFileSync(path, data, { mode: 0o644 });
}

/** Keys are 0600; chmod first so an existing looser file never holds the new key. */
function writeSecret(path: string, data: string): void {
  if (existsSync(path)) chmodSync(path, 0o600);
  writeFileSync(path, data, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The CA in `dir` (ca.crt + ca.key), checked: the key is the certificate's and it has not expired. */
export function loadCa(dir: string): Pem {
  const certPath = join(dir, 'ca.crt');
  const keyPath = join(dir, 'ca.key');
  for (const p of [certPath, keyPath]) if (!existsSync(p)) throw new Error(`${p} does not exist: --ca-dir names the folder holding ca.crt and ca.key`);
  const ca = { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8') };
  const x509 = new X509Certificate(ca.certPem);
  if (!x509.checkPrivateKey(createPrivateKey(ca.keyPem))) {
    throw new Error(`${keyPath} does not belong to ${certPath}; remove both to make a new CA`);
  }
  if (new Date(x509.validTo).getTime() <= Date.now()) {
    throw new Error(`${certPath} has expired (${x509.validTo}); remove ca.crt and ca.key to make a new CA`);
  }
  return ca;
}

/**
 * Node certificates issued by the CA in `caDir`, written to `outDir` (default <caDir>/nodes).
 * Nothing else is touched: not the CA, not the server certificate, not other nodes' files.
 */
export function writeNodeCerts(opts: { caDir: string; outDir?: string; domain: string; nodes: DevPkiNode[]; O?: string }): Record<string, { cert: string; key: string }> {
  const caDir = resolve(opts.caDir);
  const specs = nodeSpecs(opts.nodes, opts.domain, opts.O);
  const ca = loadCa(caDir);
  const outDir = resolve(opts.outDir ?? join(caDir, 'nodes'));
  mkdirSync(outDir, { recursive: true });
  const out: Record<string, { cert: string; key: string }> = {};
  for (const { name, spec } of specs) {
    const pem = issueNodeCert(ca, spec);
    const p = { cert: join(outDir, `${name}.crt`), key: join(outDir, `${name}.key`) };
    writePublic(p.cert, pem.certPem);
    writeSecret(p.key, pem.keyPem);
    out[name] = p;
  }
  return out;
}

function loadOrCreateCa(outDir: string, O: string | undefined): { ca: Pem; reused: boolean } {
  const certPath = join(outDir, 'ca.crt');
  const keyPath = join(outDir, 'ca.key');
  if (existsSync(certPath) && existsSync(keyPath)) {
    return { ca: loadCa(outDir), reused: true };
  }
  const ca = createCa(O ? { O: `${O} CA`, CN: `${O} Root CA` } : {});
  writePublic(certPath, ca.certPem);
  writeSecret(keyPath, ca.keyPem);
  return { ca, reused: false };
}

function nodeSpecs(nodes: DevPkiNode[], domain: string, O: string | undefined): { name: string; spec: NodeCertSpec }[] {
  const specs = nodes.map((n) => nodeSpec(n, domain, O));
  const dup = specs.find((s, i) => specs.findIndex((t) => t.name === s.name) !== i);
  if (dup) throw new Error(`node "${dup.name}" is listed twice`);
  return specs;
}

/** A bare name means xmppAddr name@domain, O "Grid Dev" (or opts.O), OU = CN = name. */
export function nodeSpec(node: DevPkiNode, domain: string, O = 'Grid Dev'): { name: string; spec: NodeCertSpec } {
  const { name, ...given } = typeof node === 'string' ? { name: node } : node;
  if (!NAME_RE.test(name)) {
    throw new Error(`node name "${name}" must be letters, digits, '.', '_' or '-' (it becomes a file name and a JID local part)`);
  }
  const xmppAddr = given.xmppAddr ?? (given.allowNoXmppAddr ? undefined : `${name}@${domain}`);
  return { name, spec: { ...given, xmppAddr, O: given.O ?? O, OU: given.OU ?? name, CN: given.CN ?? name } };
}

export function writeDevPki(opts: DevPkiOptions): DevPkiPaths {
  const outDir = resolve(opts.outDir);
  const specs = nodeSpecs(opts.nodes, opts.domain, opts.O);

  mkdirSync(join(outDir, 'nodes'), { recursive: true });
  const { ca, reused } = loadOrCreateCa(outDir, opts.O);
  const paths: DevPkiPaths = {
    outDir,
    ca: { cert: join(outDir, 'ca.crt'), key: join(outDir, 'ca.key') },
    server: { cert: join(outDir, 'server.crt'), key: join(outDir, 'server.key') },
    nodes: {},
    caReused: reused,
  };
  const server = issueServerCert(ca, { domain: opts.domain, altNames: ['localhost'] });
  writePublic(paths.server.cert, server.certPem);
  writeSecret(paths.server.key, server.keyPem);
  for (const { name, spec } of specs) {
    const pem = issueNodeCert(ca, spec);
    const p = { cert: join(outDir, 'nodes', `${name}.crt`), key: join(outDir, 'nodes', `${name}.key`) };
    writePublic(p.cert, pem.certPem);
    writeSecret(p.key, pem.keyPem);
    paths.nodes[name] = p;
  }
  return paths;
}
