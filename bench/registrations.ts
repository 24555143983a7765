// Registration verifications per second: verifyRegistration end to end (PEM parse, chain
// to the anchor, CRL lookup, identity, proof-of-possession signature) for an RSA 2048 and
// an EC P-256 node certificate. Run: node dist/bench/registrations.js [n]
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createCa, createCrl, issueNodeCert } from '../src/identity/devcerts.js';
import { signChallenge } from '../src/identity/pop.js';
import { createTrust } from '../src/identity/trust.js';
import { verifyRegistration } from '../src/identity/verify.js';
import type { Pem, RegistrationInput } from '../src/identity/types.js';
import { isFail } from '../src/result.js';

const CHALLENGE = 'bench-challenge-0123456789abcdef';
const WARMUP = 50;

function inputFor(node: Pem, jid: string, ca: Pem): RegistrationInput {
  // A CRL with some entries so the revocation lookup is part of the measured path.
  const crl = createCrl(ca, Array.from({ length: 100 }, (_, i) => (0x1000 + i).toString(16)));
  const trust = createTrust({ ca: [{ source: 'ca.crt', pem: ca.certPem }], crl: [{ source: 'crl.pem', pem: crl }], identity: 'xmppaddr' });
  return { certificatePem: node.certPem, challenge: CHALLENGE, signature: signChallenge(node.keyPem, CHALLENGE), bareJid: jid, trust };
}

function perSecond(input: RegistrationInput, n: number): number {
  for (let i = 0; i < WARMUP; i++) verifyRegistration(input);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const r = verifyRegistration(input);
    if (isFail(r)) throw new Error(`benchmark registration refused: ${r.fail}: ${r.text}`);
  }
  return Math.round(n / ((performance.now() - start) / 1000));
}

export async function benchRegistrations(n: number): Promise<{ rsa_per_s: number; ec_per_s: number }> {
  const ca = createCa({ O: 'Bench', CN: 'Bench Root' });
  const rsa = inputFor(issueNodeCert(ca, { xmppAddr: 'rsa@grid.test', CN: 'rsa' }), 'rsa@grid.test', ca);
  const ec = inputFor(issueNodeCert(ca, { xmppAddr: 'ec@grid.test', CN: 'ec', keyType: 'ec' }), 'ec@grid.test', ca);
  return { rsa_per_s: perSecond(rsa, n), ec_per_s: perSecond(ec, n) };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 2000);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`n must be a positive integer, got ${process.argv[2]}`);
  const r = await benchRegistrations(n);
  process.stdout.write(`registrations verified/s RSA-2048 (${n} runs): ${r.rsa_per_s}\n`);
  process.stdout.write(`registrations verified/s EC-P256 (${n} runs): ${r.ec_per_s}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: Error) => {
    process.stderr.write(`bench/registrations: ${err.message}\n`);
    process.exit(1);
  });
}
