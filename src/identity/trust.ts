// Trust configuration (config `trust:`): anchors read at start, CRLs at start and again when
// their files change (trust-watch.ts). A file that cannot be read or parsed is an error naming
// the file, so the controller refuses to start rather than run with less trust checking than
// configured, and a reload keeps the last good CRL.
import { readFileSync } from 'node:fs';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificateList } from '@peculiar/asn1-x509';
import { nameKey, nameToRecord, nameToText, normalizeSerial } from './asn1.js';
import { parseCertDer, pemBlocks } from './certinfo.js';
import { crlSignedBy } from './crl.js';
import type { IdentityMode, Trust, TrustAnchor, TrustFiles, TrustedCrl } from './types.js';

export class TrustError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'TrustError';
  }
}

// Signature algorithms accepted on CRLs → Node hash name. RSA-PSS and SHA-1 are refused.
const CRL_SIG_HASH: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256', '1.2.840.113549.1.1.12': 'sha384', '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256', '1.2.840.10045.4.3.3': 'sha384', '1.2.840.10045.4.3.4': 'sha512',
};

export function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new TrustError(file, `cannot read ${what} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

export function parseAnchors(source: string, pem: string): TrustAnchor[] {
  let blocks: Buffer[];
  try {
    blocks = pemBlocks(pem, 'CERTIFICATE');
  } catch (err) {
    throw new TrustError(source, (err as Error).message);
  }
  if (blocks.length === 0) throw new TrustError(source, 'holds no PEM CERTIFICATE block');
  return blocks.map((der, i) => {
    let cert;
    try {
      cert = parseCertDer(der);
    } catch (err) {
      throw new TrustError(source, `certificate ${i + 1} is not a valid X.509 certificate (${(err as Error).message})`);
    }
    if (!cert.x509.ca) {
      throw new TrustError(source, `certificate ${i + 1} (${cert.subjectText}) is not a CA (basicConstraints CA:true missing)`);
    }
    return { source, cert };
  });
}

export function parseCrls(source: string, pem: string): TrustedCrl[] {
  let blocks: Buffer[];
  try {
    blocks = pemBlocks(pem, 'X509 CRL');
  } catch (err) {
    throw new TrustError(source, (err as Error).message);
  }
  if (blocks.length === 0) throw new TrustError(source, 'holds no PEM X509 CRL block');
  return blocks.map((der, i) => {
    let crl: CertificateList;
    try {
      crl = AsnConvert.parse(der, CertificateList);
    } catch (err) {
      throw new TrustError(source, `CRL ${i + 1} is not a valid X.509 CRL (${(err as Error).message})`);
    }
    const hash = CRL_SIG_HASH[crl.signatureAlgorithm.algorithm];
    if (!hash) throw new TrustError(source, `CRL ${i + 1} uses unsupported signature algorithm ${crl.signatureAlgorithm.algorithm}`);
    const tbs = crl.tbsCertList;
    return {
      source,
      issuerKey: nameKey(tbs.issuer),
      issuerText: nameToText(tbs.issuer),
      issuerName: nameToRecord(tbs.issuer),
      revokedSerials: new Set((tbs.revokedCertificates ?? []).map((r) => normalizeSerial(r.userCertificate))),
      tbsDer: Buffer.from(crl.tbsCertListRaw ?? AsnConvert.serialize(tbs)),
      signature: Buffer.from(crl.signature),
      hash,
      nextUpdate: tbs.nextUpdate?.getTime(),
    };
  });
}

/** Trust from PEM texts already in memory (tests, or a caller that read the files itself). */
export function createTrust(opts: { ca: { source: string; pem: string }[]; crl: { source: string; pem: string }[]; identity: IdentityMode; now?: Date }): Trust {
  if (opts.ca.length === 0) throw new TrustError('trust.ca', 'no trust anchor configured: every node certificate would be refused');
  const anchors = opts.ca.flatMap((f) => parseAnchors(f.source, f.pem));
  const crls = opts.crl.flatMap((f) => parseCrls(f.source, f.pem));
  return withCrls({ anchors, crls: [], identity: opts.identity, warnings: [] }, crls, opts.now);
}

/** The same anchors with these CRLs; throws TrustError when a CRL of an anchor does not verify. */
export function withCrls(trust: Trust, crls: TrustedCrl[], now: Date = new Date()): Trust {
  const warnings: string[] = [];
  for (const crl of crls) {
    // A CRL from an anchor is checked now, so a wrong file stops the start (or a reload); CRLs
    // of intermediate CAs are checked when a chain through that CA is verified.
    const issuers = trust.anchors.filter((a) => a.cert.subjectKey === crl.issuerKey);
    if (issuers.length > 0 && !issuers.some((a) => crlSignedBy(crl, a.cert))) {
      throw new TrustError(crl.source, `CRL signature does not verify with the key of trust anchor ${crl.issuerText}`);
    }
    // Revocations in a stale CRL still hold; the operator is told to fetch a fresh one.
    if (crl.nextUpdate && crl.nextUpdate < now) {
      warnings.push(`${crl.source}: CRL of ${crl.issuerText} is past its nextUpdate (${crl.nextUpdate.toISOString()})`);
    }
  }
  return { anchors: trust.anchors, crls, identity: trust.identity, warnings };
}

export function loadTrust(opts: TrustFiles): Trust {
  return createTrust({
    ca: opts.ca.map((file) => ({ source: file, pem: readText(file, 'CA certificate file') })),
    crl: opts.crl.map((file) => ({ source: file, pem: readText(file, 'CRL file') })),
    identity: opts.identity,
  });
}
