// Revocation by configured CRLs. A CRL only counts once its signature verifies with the
// key of the certificate that issued the one being checked (crypto.verify over the raw
// tbsCertList); a CRL naming that issuer but not verifying fails closed.
import { verify, type KeyObject } from 'node:crypto';
import type { ParsedCert, Trust, TrustedCrl } from './types.js';

// Signature checks are costly; each (CRL, issuer key) pair is checked once.
const verified = new WeakMap<TrustedCrl, Map<string, boolean>>();

export function crlSignedBy(crl: TrustedCrl, issuer: ParsedCert): boolean {
  let byIssuer = verified.get(crl);
  if (!byIssuer) verified.set(crl, (byIssuer = new Map()));
  const fp = issuer.x509.fingerprint256;
  let ok = byIssuer.get(fp);
  if (ok === undefined) {
    ok = verifySafe(crl, issuer.x509.publicKey);
    byIssuer.set(fp, ok);
  }
  return ok;
}

function verifySafe(crl: TrustedCrl, key: KeyObject): boolean {
  try {
    return verify(crl.hash, crl.tbsDer, { key, dsaEncoding: 'der' }, crl.signature);
  } catch {
    return false; // wrong key type for the algorithm, malformed signature
  }
}

/** Why `cert` (issued by `issuer`) must be refused by a configured CRL, or undefined. */
export function revocationFailure(cert: ParsedCert, issuer: ParsedCert, trust: Trust): string | undefined {
  for (const crl of trust.crls) {
    if (crl.issuerKey !== cert.issuerKey) continue;
    if (!crlSignedBy(crl, issuer)) {
      return `CRL in ${crl.source} names ${crl.issuerText} as issuer but its signature does not verify with that issuer's key`;
    }
    if (crl.revokedSerials.has(cert.serial)) {
      return `certificate ${cert.subjectText} (serial ${cert.serial}) is revoked by the CRL in ${crl.source}`;
    }
  }
  return undefined;
}
