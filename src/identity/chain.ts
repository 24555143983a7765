// Chain verification (PROTOCOL §2 step 3): build a path from the leaf through submitted
// intermediates to a configured anchor, then check every certificate on it. Issuer match
// and signatures use Node's X509Certificate (checkIssued, verify); CA flag from Node's `ca`;
// pathLen, EKU, key usage and critical extensions from the ASN.1 view; CRLs from crl.ts.
import { KeyUsageFlags } from '@peculiar/asn1-x509';
import { EKU_CLIENT_AUTH } from './asn1.js';
import { revocationFailure } from './crl.js';
import type { ParsedCert, Trust } from './types.js';
import { fail, isFail, ok, type Result } from '../result.js';

/** The path leaf … anchor, or `untrusted` with the reason. */
export type ChainCheck = Result<ParsedCert[]>;

// Extensions this verifier understands; any other marked critical makes the certificate
// unusable (RFC 5280 §4.2). Name constraints in particular are not enforced, so refused.
const KNOWN_CRITICAL = new Set(['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.17', '2.5.29.14', '2.5.29.35']);
const MIN_RSA_BITS = 2048;

function issuedBy(cert: ParsedCert, issuer: ParsedCert): boolean {
  return cert.issuerKey === issuer.subjectKey && cert.x509.checkIssued(issuer.x509) && cert.x509.verify(issuer.x509.publicKey);
}

/** Leaf … last before the anchor, then the anchor; or why no such path exists. */
export function buildPath(chain: ParsedCert[], trust: Trust): ChainCheck {
  const path = [chain[0]!];
  const unused = chain.slice(1);
  for (;;) {
    const current = path[path.length - 1]!;
    const anchor = trust.anchors.find((a) => issuedBy(current, a.cert));
    if (anchor) return ok([...path, anchor.cert]);
    const i = unused.findIndex((c) => issuedBy(current, c));
    if (i < 0) return fail('untrusted', noIssuerText(current, trust));
    path.push(unused.splice(i, 1)[0]!);
  }
}

function noIssuerText(cert: ParsedCert, trust: Trust): string {
  const named = trust.anchors.some((a) => a.cert.subjectKey === cert.issuerKey);
  return named
    ? `signature of ${cert.subjectText} does not verify with the key of trust anchor ${cert.issuerText}`
    : `${cert.subjectText} is issued by ${cert.issuerText}, which is neither a configured trust anchor nor a certificate in the submitted chain that chains to one`;
}

function validityFailure(c: ParsedCert, now: Date): string | undefined {
  if (now < c.notBefore) return `${c.subjectText} is not valid before ${c.notBefore.toISOString()}`;
  if (now > c.notAfter) return `${c.subjectText} expired on ${c.notAfter.toISOString()}`;
  return undefined;
}

function keyFailure(c: ParsedCert): string | undefined {
  const k = c.x509.publicKey;
  const bits = k.asymmetricKeyDetails?.modulusLength;
  if (k.asymmetricKeyType === 'rsa' && bits !== undefined && bits < MIN_RSA_BITS) {
    return `${c.subjectText} has a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`;
  }
  const critical = c.ext.critical.find((oid) => !KNOWN_CRITICAL.has(oid));
  if (critical) return `${c.subjectText} has critical extension ${critical}, which this controller does not process`;
  return undefined;
}

/** `below` is how many non-leaf certificates sit under this issuer on the path. */
function issuerFailure(issuer: ParsedCert, subject: ParsedCert, below: number): string | undefined {
  if (!issuer.x509.ca) return `${issuer.subjectText} issued ${subject.subjectText} but is not a CA (basicConstraints CA:true missing)`;
  const pathLen = issuer.ext.basicConstraints?.pathLen;
  if (pathLen !== undefined && below > pathLen) return `${issuer.subjectText} allows ${pathLen} intermediate CA(s) below it, the chain has ${below}`;
  const ku = issuer.ext.keyUsage;
  if (ku && !(ku.toNumber() & KeyUsageFlags.keyCertSign)) return `${issuer.subjectText} lacks keyCertSign in its key usage`;
  return undefined;
}

function leafFailure(leaf: ParsedCert): string | undefined {
  const { eku, keyUsage } = leaf.ext;
  if (eku && !eku.includes(EKU_CLIENT_AUTH)) return `${leaf.subjectText} has an extended key usage without clientAuth`;
  if (keyUsage && !(keyUsage.toNumber() & KeyUsageFlags.digitalSignature)) return `${leaf.subjectText} lacks digitalSignature in its key usage`;
  return undefined;
}

export function verifyChain(chain: ParsedCert[], trust: Trust, now: Date): ChainCheck {
  const built = buildPath(chain, trust);
  if (isFail(built)) return built;
  const path = built.value;
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    const issuer = path[i + 1];
    const problem = validityFailure(c, now) ?? keyFailure(c)
      ?? (i === 0 ? leafFailure(c) : undefined)
      ?? (issuer ? issuerFailure(issuer, c, i) ?? revocationFailure(c, issuer, trust) : undefined);
    if (problem) return fail('untrusted', problem);
  }
  return built;
}
