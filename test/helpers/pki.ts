// Test PKI: one CA and a few node certificates built once per test process (RSA keygen
// costs ~50 ms each), plus helpers to register with them and to run the openssl CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueNodeCert } from '../../src/identity/devcerts.js';
import { signChallenge } from '../../src/identity/pop.js';
import { createTrust } from '../../src/identity/trust.js';
import type { IdentityMode, NodeCertSpec, Pem, RegistrationInput, Trust } from '../../src/identity/types.js';

export const DOMAIN = 'grid.test';
export const CHALLENGE = 'c2f1e0d9-challenge-ünïcødé';

export interface TestPki {
  ca: Pem;
  rsa: Pem; // node1@grid.test, RSA
  ec: Pem; // node2@grid.test, EC P-256
}

let cached: TestPki | undefined;

export function testPki(): TestPki {
  cached ??= (() => {
    const ca = createCa({ O: 'Test Grid', CN: 'Test Grid Root' });
    return {
      ca,
      rsa: issueNodeCert(ca, { xmppAddr: `node1@${DOMAIN}`, O: 'Grid Dev', OU: 'soc', CN: 'node1' }),
      ec: issueNodeCert(ca, { xmppAddr: `node2@${DOMAIN}`, O: 'Grid Dev', OU: 'ids', CN: 'node2', keyType: 'ec' }),
    };
  })();
  return cached;
}

/** A node certificate; EC unless asked otherwise, since EC keys are made in microseconds. */
export function node(spec: NodeCertSpec, ca: Pem = testPki().ca): Pem {
  return issueNodeCert(ca, { keyType: 'ec', ...spec });
}

export function trustFor(ca: Pem | Pem[], opts: { crls?: string[]; identity?: IdentityMode; now?: Date } = {}): Trust {
  const cas = Array.isArray(ca) ? ca : [ca];
  return createTrust({
    ca: cas.map((c, i) => ({ source: `ca${i}.crt`, pem: c.certPem })),
    crl: (opts.crls ?? []).map((pem, i) => ({ source: `crl${i}.pem`, pem })),
    identity: opts.identity ?? 'xmppaddr',
    now: opts.now,
  });
}

/** A well-formed registration for `pem` as `bareJid`; override any field. */
export function registration(pem: Pem, bareJid: string, trust: Trust, over: Partial<RegistrationInput> = {}): RegistrationInput {
  return {
    certificatePem: pem.certPem,
    challenge: CHALLENGE,
    signature: signChallenge(pem.keyPem, CHALLENGE),
    bareJid,
    trust,
    ...over,
  };
}

/** Runs openssl; stdout and stderr together (some verdicts go to stderr); throws on a non-zero exit. */
export function openssl(args: string[], cwd: string): string {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`openssl ${args[0]} exited ${r.status}: ${r.stderr}`);
  return r.stdout + r.stderr;
}

/** A temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'grid-identity-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
}
