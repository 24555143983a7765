// Parsing certificates from PEM and describing them. Node's crypto.X509Certificate parses
// the DER and owns every cryptographic check (EC and RSA); @peculiar/asn1-x509 decodes what
// Node does not expose: SAN otherName (xmppAddr), EKU, key usage, exact validity dates.
import { X509Certificate } from 'node:crypto';
import { nameKey, nameToRecord, nameToText, normalizeSerial, parseCertificateDer, readExtensions } from './asn1.js';
import type { CertInfo, KeyType, ParsedCert } from './types.js';

// Caps that keep a hostile submission from costing much: a few certificates, each modest.
export const MAX_CHAIN = 8;
export const MAX_PEM_CHARS = 64 * 1024;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** The base64 bodies of PEM blocks with the given label, in order. */
export function pemBlocks(text: string, label: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    if (m[1] !== label) continue;
    const body = m[2]!.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new Error(`a ${label} PEM block is not base64`);
    out.push(Buffer.from(body, 'base64'));
  }
  return out;
}

export function parseCertDer(der: Buffer): ParsedCert {
  const x509 = new X509Certificate(der);
  const asn = parseCertificateDer(x509.raw);
  const tbs = asn.tbsCertificate;
  return {
    x509,
    asn,
    ext: readExtensions(asn),
    subjectKey: nameKey(tbs.subject),
    issuerKey: nameKey(tbs.issuer),
    subjectText: nameToText(tbs.subject) || '(empty subject)',
    issuerText: nameToText(tbs.issuer) || '(empty issuer)',
    serial: normalizeSerial(tbs.serialNumber),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
  };
}

/** Every CERTIFICATE block of a PEM text, leaf first; throws with a reason when unusable. */
export function parsePemChain(pem: string): ParsedCert[] {
  if (pem.length > MAX_PEM_CHARS) throw new Error(`the certificate field is larger than ${MAX_PEM_CHARS} characters`);
  const blocks = pemBlocks(pem, 'CERTIFICATE');
  if (blocks.length === 0) throw new Error('no PEM CERTIFICATE block found');
  if (blocks.length > MAX_CHAIN) throw new Error(`more than ${MAX_CHAIN} certificates in the chain`);
  return blocks.map((der, i) => {
    try {
      return parseCertDer(der);
    } catch (err) {
      throw new Error(`certificate ${i + 1} is not a valid X.509 certificate (${(err as Error).message})`);
    }
  });
}

export function keyTypeOf(cert: X509Certificate): KeyType | undefined {
  const t = cert.publicKey.asymmetricKeyType;
  return t === 'rsa' || t === 'ec' ? t : undefined;
}

export function certInfo(c: ParsedCert): CertInfo {
  const keyType = keyTypeOf(c.x509);
  if (!keyType) throw new Error(`unsupported key type ${String(c.x509.publicKey.asymmetricKeyType)} (rsa or ec only)`);
  return {
    fingerprint: c.x509.fingerprint256,
    serial: c.serial,
    subject: nameToRecord(c.asn.tbsCertificate.subject),
    issuer: nameToRecord(c.asn.tbsCertificate.issuer),
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    xmppAddrs: [...c.ext.xmppAddrs],
    keyType,
    issuerKey: c.issuerKey,
  };
}

/** Describes the first certificate of a PEM text; throws when it cannot be parsed. */
export function describeCertificate(pem: string): CertInfo {
  return certInfo(parsePemChain(pem)[0]!);
}

export function isExpired(info: CertInfo, now: Date = new Date()): boolean {
  return now.getTime() > Date.parse(info.notAfter);
}
