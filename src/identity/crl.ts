// Revocation by configured CRLs. A CRL only counts once its signature verifies with the
// key of the certificate that issued the one being checked (crypto.verify over the raw
// tbsCertList); a CRL naming that issuer but not verifying fails closed at registration.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { CertInfo, ParsedCert, Trust, TrustedCrl } from './types.js';

// Signature checks are costly; each (CRL, issuer key) pair is checked once.
const verified = new WeakMap<TrustedCrl, Map<string, boolean>>();

function signedWith(crl: TrustedCrl, keyId: string, key: () => KeyObject): boolean {
  let byKey = verified.get(crl);
  if (!byKey) verified.set(crl, (byKey = new Map()));
  let ok = byKey.get(keyId);
  if (ok === undefined) {
    ok = verifySafe(crl, key);
    byKey.set(keyId, ok);
  }
  return ok;
}

export function crlSignedBy(crl: TrustedCrl, issuer: ParsedCert): boolean {
  return signedWith(crl, issuer.x509.fingerprint256, () => issuer.x509.publicKey);
}

function verifySafe(crl: TrustedCrl, key: () => KeyObject): boolean {
  try {
    return verify(crl.hash, crl.tbsDer, { key: key(), dsaEncoding: 'der' }, crl.signature);
  } catch {
    return false; // wrong key type for the algorithm, malformed signature or key
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

/** What an account keeps of its certificate: enough to find it on a CRL later. */
export type StoredCert = Pick<CertInfo, 'serial' | 'issuer' | 'issuerKey' | 'issuerSpki'>;

export type StoredRevocation =
  | { revoked: true; text: string }
  | { revoked: false; unverified?: string };

/**
 * Is a certificate accepted earlier (only its stored facts are left) on a configured CRL?
 * The CRL must verify with the issuer key recorded at registration, or, for accounts stored
 * before keys were recorded, with a trust anchor of that name. A CRL that cannot be checked
 * revokes nothing (a bad CRL file must not revoke every account of a CA) and is reported.
 */
export function storedCertRevocation(cert: StoredCert, trust: Trust): StoredRevocation {
  let unverified: string | undefined;
  for (const crl of trust.crls) {
    if (cert.issuerKey ? crl.issuerKey !== cert.issuerKey : !sameName(crl.issuerName, cert.issuer)) continue;
    if (!crl.revokedSerials.has(cert.serial)) continue;
    const spki = cert.issuerSpki;
    const anchor = trust.anchors.find((a) => a.cert.subjectKey === crl.issuerKey);
    const ok = spki
      ? signedWith(crl, `spki:${spki}`, () => createPublicKey({ key: Buffer.from(spki, 'base64'), format: 'der', type: 'spki' }))
      : anchor !== undefined && crlSignedBy(crl, anchor.cert);
    if (ok) return { revoked: true, text: `certificate serial ${cert.serial} is revoked by the CRL of ${crl.issuerText} in ${crl.source}` };
    unverified = `the CRL in ${crl.source} lists serial ${cert.serial} but its signature cannot be verified with the issuer's key`;
  }
  return unverified ? { revoked: false, unverified } : { revoked: false };
}

function sameName(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
