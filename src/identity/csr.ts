// `grid-controller certs sign`: a node certificate from an operator's CA for a CSR made on
// the node, so the node's key never travels. The CSR's signature is checked (proof that its
// maker holds the key), weak keys and digests are refused, and the certificate carries what
// the controller and the XMPP server need: the id-on-xmppAddr SAN with the given JID
// (RFC 6120 §13.7.1.4) and the clientAuth EKU. Extensions the CSR asks for are ignored: the
// operator decides what is certified, the node only proves its key and proposes a subject.
import { X509Certificate, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import {
  BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsageFlags, SubjectAlternativeName,
  id_ce_basicConstraints, id_ce_extKeyUsage, id_ce_keyUsage, id_ce_subjectAltName, id_kp_clientAuth,
} from '@peculiar/asn1-x509';
import { nameToRecord, normalizeSerial, xmppAddrName } from './asn1.js';
import { loadIssuer, validity } from './issue.js';
import { buildCertificatePem, makeExtension } from './x509build.js';
import type { Pem } from './types.js';

export class CsrError extends Error {}

/** Signature algorithms a CSR may be signed with: SHA-2 only. */
const CSR_SIGNATURES: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256', '1.2.840.113549.1.1.12': 'sha384', '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256', '1.2.840.10045.4.3.3': 'sha384', '1.2.840.10045.4.3.4': 'sha512',
};
const MIN_RSA_BITS = 2048;
const CURVES = ['prime256v1', 'secp384r1', 'secp521r1'];
// A bare JID: no resource, no whitespace or controls (RFC 7622 in spirit; the server checks the rest).
const BARE_JID = /^[^\s\u0000-\u001f\u007f@/]+@[^\s\u0000-\u001f\u007f@/]+$/;

export interface SignCsrOptions {
  jid: string;
  /** Validity in days (default 365); never past the CA's own notAfter. */
  days?: number;
  now?: Date;
}

export interface SignedCsr {
  certPem: string;
  subject: Record<string, string>;
  serial: string;
  notAfter: string;
  fingerprint: string;
}

export function parseCsrPem(pem: string): { der: Buffer; csr: CertificationRequest } {
  const m = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pem);
  if (!m) throw new CsrError('not a PEM certificate request (no BEGIN CERTIFICATE REQUEST block)');
  const der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  try {
    return { der, csr: AsnConvert.parse(der, CertificationRequest) };
  } catch (e) {
    throw new CsrError(`the certificate request does not parse: ${(e as Error).message}`);
  }
}

/** Checks the CSR's own signature and key; returns the key it certifies. */
export function checkCsr(pem: string): { publicKey: KeyObject; csr: CertificationRequest } {
  const { der, csr } = parseCsrPem(pem);
  // The signature covers the DER of certificationRequestInfo as sent. We verify over the
  // library's re-encoding, so that must be byte-identical to the input (true for any DER).
  if (!Buffer.from(AsnConvert.serialize(csr)).equals(der)) throw new CsrError('the certificate request is not DER-encoded');
  const digest = CSR_SIGNATURES[csr.signatureAlgorithm.algorithm];
  if (!digest) throw new CsrError(`the certificate request is signed with ${csr.signatureAlgorithm.algorithm}: only RSA or ECDSA with SHA-256/384/512 are accepted`);
  const publicKey = createPublicKey({ key: Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo.subjectPKInfo)), format: 'der', type: 'spki' });
  refuseWeakKey(publicKey);
  const info = Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo));
  const ok = verify(digest, info, { key: publicKey, dsaEncoding: 'der' }, Buffer.from(csr.signature));
  if (!ok) throw new CsrError('the certificate request\'s signature does not verify: it was not made with the key it carries');
  return { publicKey, csr };
}

function refuseWeakKey(key: KeyObject): void {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    if ((d.modulusLength ?? 0) < MIN_RSA_BITS) throw new CsrError(`weak key: RSA ${d.modulusLength ?? '?'} bits (at least ${MIN_RSA_BITS})`);
    return;
  }
  if (key.asymmetricKeyType === 'ec') {
    if (!CURVES.includes(d.namedCurve ?? '')) throw new CsrError(`weak or unsupported key: EC curve ${d.namedCurve ?? '?'} (P-256, P-384 or P-521)`);
    return;
  }
  throw new CsrError(`unsupported key type ${String(key.asymmetricKeyType)}: RSA (≥ ${MIN_RSA_BITS} bits) or EC P-256/384/521`);
}

export function signCsr(ca: Pem, csrPem: string, o: SignCsrOptions): SignedCsr {
  const jid = o.jid.trim().toLowerCase();
  if (!BARE_JID.test(jid)) throw new CsrError(`--jid ${JSON.stringify(o.jid)} is not a bare JID like node1@grid.example`);
  const caCert = new X509Certificate(ca.certPem);
  if (!caCert.ca) throw new CsrError('the --ca-cert is not a CA certificate (basicConstraints cA is not true)');
  const issuer = loadIssuer(ca);
  const { publicKey, csr } = checkCsr(csrPem);
  const now = o.now ?? new Date();
  const caEnd = new Date(caCert.validTo);
  if (caEnd <= now) throw new CsrError(`the CA certificate expired on ${caEnd.toISOString()}`);
  const v = validity(o.days ?? 365, new Date(now.getTime() - 5 * 60_000));
  const notAfter = v.notAfter > caEnd ? caEnd : v.notAfter;
  const usage = KeyUsageFlags.digitalSignature | (publicKey.asymmetricKeyType === 'rsa' ? KeyUsageFlags.keyEncipherment : 0);
  const subject = csr.certificationRequestInfo.subject;
  const certPem = buildCertificatePem({
    subject, issuer: issuer.name, subjectKey: publicKey, issuerKey: issuer.publicKey, signer: issuer.signer,
    notBefore: v.notBefore, notAfter,
    extensions: [
      makeExtension(id_ce_keyUsage, true, new KeyUsage(usage)),
      makeExtension(id_ce_basicConstraints, false, new BasicConstraints({ cA: false })),
      makeExtension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_clientAuth])),
      makeExtension(id_ce_subjectAltName, false, new SubjectAlternativeName([xmppAddrName(jid)])),
    ],
  });
  const issued = new X509Certificate(certPem);
  return { certPem, subject: nameToRecord(subject), serial: normalizeSerial(issued.serialNumber), notAfter: new Date(issued.validTo).toISOString(), fingerprint: issued.fingerprint256 };
}
