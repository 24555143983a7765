// Issuing for the development PKI: a CA, a server certificate for the XMPP domain, node
// certificates with the id-on-xmppAddr SAN, CRLs (PROTOCOL §11 `certs dev`). Not for
// production CAs. Synchronous, so harnesses and tests can call it inline.
import { X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier, BasicConstraints, CertificateList, ExtendedKeyUsage, GeneralName, KeyUsage, KeyUsageFlags,
  Name, RevokedCertificate, SubjectAlternativeName, TBSCertList, Time, Version,
  id_ce_basicConstraints, id_ce_extKeyUsage, id_ce_keyUsage, id_ce_subjectAltName, id_kp_clientAuth, id_kp_serverAuth,
} from '@peculiar/asn1-x509';
import { buildName, ekuOid, normalizeSerial, parseCertificateDer, xmppAddrName } from './asn1.js';
import {
  buildCertificatePem, generateKeyPair, loadPrivateKey, makeExtension, privateKeyPem, publicKeyOf,
  signDer, signatureAlgorithm, toPem,
} from './x509build.js';
import type { CaOptions, NodeCertSpec, Pem, ServerCertOptions } from './types.js';

const DAY_MS = 86_400_000;
// Back-date a little so a freshly issued certificate is valid on a host whose clock lags.
const BACKDATE_MS = 5 * 60_000;

export interface Issuer {
  name: Name;
  publicKey: KeyObject;
  signer: KeyObject;
}

export function loadIssuer(ca: Pem): Issuer {
  // No CA:true check here on purpose: negative tests issue from a non-CA "intermediate".
  const x509 = new X509Certificate(ca.certPem);
  const signer = loadPrivateKey(ca.keyPem);
  if (!x509.checkPrivateKey(signer)) throw new Error('the CA key does not belong to the CA certificate');
  return { name: parseCertificateDer(x509.raw).tbsCertificate.subject, publicKey: x509.publicKey, signer };
}

export function validity(days: number, notBefore?: Date, notAfter?: Date): { notBefore: Date; notAfter: Date } {
  const from = notBefore ?? new Date(Date.now() - BACKDATE_MS);
  return { notBefore: from, notAfter: notAfter ?? new Date(from.getTime() + days * DAY_MS) };
}

export function createCa(opts: CaOptions = {}): Pem {
  const { privateKey, publicKey } = generateKeyPair(opts.keyType ?? 'rsa');
  const name = buildName([['O', opts.O ?? 'Grid Dev CA'], ['CN', opts.CN ?? 'Grid Dev Root CA']]);
  const certPem = buildCertificatePem({
    subject: name, issuer: name, subjectKey: publicKey, issuerKey: publicKey, signer: privateKey,
    ...validity(opts.days ?? 3650, opts.notBefore, opts.notAfter),
    extensions: [
      makeExtension(id_ce_basicConstraints, true, new BasicConstraints({ cA: true })),
      makeExtension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
    ],
  });
  return { certPem, keyPem: privateKeyPem(privateKey) };
}

/** An intermediate CA under `ca` (chains in tests; a per-site CA in a lab). */
export function issueIntermediateCa(ca: Pem, opts: CaOptions & { pathLen?: number } = {}): Pem {
  const issuer = loadIssuer(ca);
  const { privateKey, publicKey } = generateKeyPair(opts.keyType ?? 'rsa');
  const certPem = buildCertificatePem({
    subject: buildName([['O', opts.O ?? 'Grid Dev CA'], ['CN', opts.CN ?? 'Grid Dev Intermediate CA']]),
    issuer: issuer.name, subjectKey: publicKey, issuerKey: issuer.publicKey, signer: issuer.signer,
    ...validity(opts.days ?? 1825, opts.notBefore, opts.notAfter),
    extensions: [
      makeExtension(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, pathLenConstraint: opts.pathLen })),
      makeExtension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
    ],
  });
  return { certPem, keyPem: privateKeyPem(privateKey) };
}

export function issueServerCert(ca: Pem, opts: ServerCertOptions): Pem {
  const issuer = loadIssuer(ca);
  const { privateKey, publicKey } = generateKeyPair('rsa');
  const names = [...new Set([opts.domain, `*.${opts.domain}`, ...(opts.altNames ?? [])])];
  const certPem = buildCertificatePem({
    subject: buildName([['O', 'Grid Dev'], ['CN', opts.domain]]),
    issuer: issuer.name, subjectKey: publicKey, issuerKey: issuer.publicKey, signer: issuer.signer,
    ...validity(opts.days ?? 825),
    extensions: [
      makeExtension(id_ce_basicConstraints, false, new BasicConstraints({ cA: false })),
      makeExtension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment)),
      makeExtension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth, id_kp_clientAuth])),
      makeExtension(id_ce_subjectAltName, false, new SubjectAlternativeName(names.map((d) => new GeneralName({ dNSName: d })))),
    ],
  });
  return { certPem, keyPem: privateKeyPem(privateKey) };
}

function nodeSan(spec: NodeCertSpec): GeneralName[] {
  const san: GeneralName[] = [];
  if (spec.xmppAddr) san.push(xmppAddrName(spec.xmppAddr));
  for (const d of spec.dnsNames ?? []) san.push(new GeneralName({ dNSName: d }));
  if (spec.email) san.push(new GeneralName({ rfc822Name: spec.email }));
  return san;
}

export function issueNodeCert(ca: Pem, spec: NodeCertSpec): Pem {
  if (!spec.xmppAddr && !spec.allowNoXmppAddr) {
    throw new Error('a node certificate needs xmppAddr (the node\'s bare JID, e.g. node1@grid.test); set allowNoXmppAddr only for negative tests');
  }
  const issuer = loadIssuer(ca);
  const keyType = spec.keyType ?? 'rsa';
  const { privateKey, publicKey } = generateKeyPair(keyType);
  const san = nodeSan(spec);
  const eku = (spec.eku ?? ['clientAuth']).map(ekuOid);
  const usage = spec.isCa
    ? KeyUsageFlags.keyCertSign | KeyUsageFlags.digitalSignature
    : KeyUsageFlags.digitalSignature | (keyType === 'rsa' ? KeyUsageFlags.keyEncipherment : 0);
  const extensions = [makeExtension(id_ce_keyUsage, true, new KeyUsage(usage))];
  // isCa: an issuer without basicConstraints, the shape node-forge < 1.4 wrongly accepted.
  if (!spec.isCa) extensions.push(makeExtension(id_ce_basicConstraints, false, new BasicConstraints({ cA: false })));
  if (eku.length > 0) extensions.push(makeExtension(id_ce_extKeyUsage, false, new ExtendedKeyUsage(eku)));
  if (san.length > 0) extensions.push(makeExtension(id_ce_subjectAltName, false, new SubjectAlternativeName(san)));
  const certPem = buildCertificatePem({
    subject: buildName([['O', spec.O], ['OU', spec.OU], ['CN', spec.CN ?? spec.xmppAddr]]),
    issuer: issuer.name, subjectKey: publicKey, issuerKey: issuer.publicKey, signer: issuer.signer,
    ...validity(365, spec.notBefore, spec.notAfter),
    extensions,
  });
  return { certPem, keyPem: privateKeyPem(privateKey) };
}

/** Serial hex → INTEGER contents, with a leading zero byte where the top bit would read as negative. */
function serialBytes(hex: string): ArrayBuffer {
  let h = normalizeSerial(hex);
  if (h.length % 2) h = `0${h}`;
  if (parseInt(h.slice(0, 2), 16) & 0x80) h = `00${h}`;
  return new Uint8Array(Buffer.from(h, 'hex')).buffer;
}

/** A PEM CRL (v2) signed by the CA, listing the given serials (hex, colons allowed). */
export function createCrl(ca: Pem, revokedSerials: string[], opts: { days?: number; now?: Date } = {}): string {
  const issuer = loadIssuer(ca);
  const now = opts.now ?? new Date();
  const alg: AlgorithmIdentifier = signatureAlgorithm(issuer.signer);
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: alg,
    issuer: issuer.name,
    thisUpdate: new Time(now),
    nextUpdate: new Time(new Date(now.getTime() + (opts.days ?? 30) * DAY_MS)),
    revokedCertificates: revokedSerials.length
      ? revokedSerials.map((s) => new RevokedCertificate({ userCertificate: serialBytes(s), revocationDate: new Time(now) }))
      : undefined,
  });
  const signature = signDer(issuer.signer, AsnConvert.serialize(tbs));
  const crl = new CertificateList({ tbsCertList: tbs, signatureAlgorithm: alg, signature: new Uint8Array(signature).buffer });
  return toPem('X509 CRL', AsnConvert.serialize(crl));
}

/** The public half of a dev key, handy for tests that need a mismatching key. */
export function publicKeyPem(keyPem: string): string {
  return publicKeyOf(loadPrivateKey(keyPem)).export({ type: 'spki', format: 'pem' }).toString();
}
