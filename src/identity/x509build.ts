// Assembles and signs X.509 certificates synchronously: keys from Node's crypto
// (generateKeyPairSync is native and fast; forge's JS RSA keygen is slow and has no EC),
// structures from @peculiar/asn1-x509, signatures from crypto.sign.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier, AuthorityKeyIdentifier, Certificate, Extension, Extensions, KeyIdentifier, Name,
  SubjectKeyIdentifier, SubjectPublicKeyInfo, TBSCertificate, Validity, Version,
  id_ce_authorityKeyIdentifier, id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import type { KeyType } from './types.js';

const OID_SHA256_RSA = '1.2.840.113549.1.1.11';
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const ASN1_NULL = new Uint8Array([0x05, 0x00]).buffer;

export function generateKeyPair(keyType: KeyType): { privateKey: KeyObject; publicKey: KeyObject } {
  return keyType === 'ec'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function toPem(label: string, der: ArrayBuffer | Uint8Array): string {
  const b64 = Buffer.from(der as ArrayBuffer).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

export function loadPrivateKey(keyPem: string): KeyObject {
  return createPrivateKey(keyPem);
}

/** Signature algorithm identifier for what a key of this type signs with here (always SHA-256). */
export function signatureAlgorithm(signer: KeyObject): AlgorithmIdentifier {
  const t = signer.asymmetricKeyType;
  if (t === 'rsa') return new AlgorithmIdentifier({ algorithm: OID_SHA256_RSA, parameters: ASN1_NULL });
  if (t === 'ec') return new AlgorithmIdentifier({ algorithm: OID_ECDSA_SHA256 });
  throw new Error(`cannot sign with a ${String(t)} key (rsa or ec P-256 only)`);
}

/** Signs DER with SHA-256; ECDSA signatures are DER ECDSA-Sig-Value as X.509 wants. */
export function signDer(signer: KeyObject, der: ArrayBuffer): Buffer {
  return sign('sha256', Buffer.from(der), { key: signer, dsaEncoding: 'der' });
}

export function spkiOf(publicKey: KeyObject): SubjectPublicKeyInfo {
  return AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. An identifier, not a security check. */
export function keyIdentifier(publicKey: KeyObject): ArrayBuffer {
  const digest = createHash('sha1').update(Buffer.from(spkiOf(publicKey).subjectPublicKey)).digest();
  return new Uint8Array(digest).buffer;
}

/** 16 random bytes, top bit clear so the INTEGER stays positive (RFC 5280 §4.1.2.2). */
export function randomSerial(): ArrayBuffer {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return new Uint8Array(b).buffer;
}

export function makeExtension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

export interface CertParams {
  subject: Name;
  issuer: Name;
  subjectKey: KeyObject; // public
  issuerKey: KeyObject; // public, for the authority key identifier
  signer: KeyObject; // issuer's private key
  notBefore: Date;
  notAfter: Date;
  extensions: Extension[];
}

export function buildCertificatePem(p: CertParams): string {
  const alg = signatureAlgorithm(p.signer);
  const extensions = new Extensions([
    ...p.extensions,
    makeExtension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifier(p.subjectKey))),
    makeExtension(id_ce_authorityKeyIdentifier, false,
      new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyIdentifier(p.issuerKey)) })),
  ]);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: randomSerial(),
    signature: alg,
    issuer: p.issuer,
    validity: new Validity({ notBefore: p.notBefore, notAfter: p.notAfter }),
    subject: p.subject,
    subjectPublicKeyInfo: spkiOf(p.subjectKey),
    extensions,
  });
  const tbsDer = AsnConvert.serialize(tbs);
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: alg, signatureValue: new Uint8Array(signDer(p.signer, tbsDer)).buffer });
  return toPem('CERTIFICATE', AsnConvert.serialize(cert));
}

export function publicKeyOf(privateKey: KeyObject): KeyObject {
  return createPublicKey(privateKey);
}
