// Vocabulary of the identity module: certificates of grid nodes, the trust they are
// checked against (PROTOCOL §2 steps 2–5), and the development PKI (PROTOCOL §11).
import type { X509Certificate } from 'node:crypto';
import type { Certificate } from '@peculiar/asn1-x509';
import type { CertExtensions } from './asn1.js';
import type { Result } from '../result.js';

/** A certificate and its private key, both PEM. keyPem is secret: never log it. */
export interface Pem {
  certPem: string;
  keyPem: string;
}

export type KeyType = 'rsa' | 'ec';

/** What a development node certificate should say. */
export interface NodeCertSpec {
  /** Bare JID put in the id-on-xmppAddr SAN. Required unless allowNoXmppAddr. */
  xmppAddr?: string;
  O?: string;
  OU?: string;
  CN?: string;
  keyType?: KeyType;
  notBefore?: Date;
  notAfter?: Date;
  /** Extended key usages by name (clientAuth, serverAuth, …) or OID; default ['clientAuth']. An empty list omits the extension. */
  eku?: string[];
  dnsNames?: string[];
  /** rfc822Name SAN. */
  email?: string;
  /** Tests need certificates without xmppAddr; anything else must not make them by accident. */
  allowNoXmppAddr?: boolean;
  /** Tests only: a would-be issuer (keyCertSign) without basicConstraints, which verifiers must refuse. */
  isCa?: boolean;
}

export interface CaOptions {
  O?: string;
  CN?: string;
  days?: number;
  keyType?: KeyType;
  notBefore?: Date;
  notAfter?: Date;
}

export interface ServerCertOptions {
  domain: string;
  altNames?: string[];
  days?: number;
}

export type DevPkiNode = string | ({ name: string } & NodeCertSpec);

export interface DevPkiOptions {
  outDir: string;
  domain: string;
  nodes: DevPkiNode[];
  O?: string;
}

export interface CertKeyPaths {
  cert: string;
  key: string;
}

export interface DevPkiPaths {
  outDir: string;
  ca: CertKeyPaths;
  server: CertKeyPaths;
  nodes: Record<string, CertKeyPaths>;
  /** True when an existing ca.crt/ca.key was kept (certificates issued before stay valid). */
  caReused: boolean;
}

/** What the rest of the controller needs to know about a certificate. */
export interface CertInfo {
  /** SHA-256 of the DER, upper-case hex with colons. */
  fingerprint: string;
  /** Upper-case hex without leading zeros. */
  serial: string;
  /** Short attribute names (C, ST, L, O, OU, CN, …); the first value where one repeats. */
  subject: Record<string, string>;
  issuer: Record<string, string>;
  notBefore: string;
  notAfter: string;
  xmppAddrs: string[];
  keyType: KeyType;
  /** Canonical DER hex of the issuer Name: which CRLs speak about this certificate. */
  issuerKey?: string;
  /** The issuer's public key (SPKI DER, base64), set after a chain verified: checks that issuer's CRLs later. */
  issuerSpki?: string;
}

export type IdentityMode = 'xmppaddr' | 'xmppaddr-or-cn';

/** A CRL from the configuration, checked against its issuer when a chain uses it. */
export interface TrustedCrl {
  source: string;
  issuerKey: string; // canonical DER hex of the issuer Name
  issuerText: string;
  /** The issuer Name as short attributes (how accounts stored before issuerKey name their issuer). */
  issuerName: Record<string, string>;
  revokedSerials: Set<string>;
  tbsDer: Buffer;
  signature: Buffer;
  hash: string; // node hash name for crypto.verify
  nextUpdate?: Date;
}

/** A certificate read once: Node's view (crypto checks) and the ASN.1 view (extensions, names). */
export interface ParsedCert {
  x509: X509Certificate;
  asn: Certificate;
  ext: CertExtensions;
  subjectKey: string; // canonical DER hex of the subject Name
  issuerKey: string;
  subjectText: string;
  issuerText: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface TrustAnchor {
  source: string;
  cert: ParsedCert;
}

export interface Trust {
  anchors: TrustAnchor[];
  crls: TrustedCrl[];
  identity: IdentityMode;
  /** Things an operator should hear about at start (e.g. a CRL past its nextUpdate). */
  warnings: string[];
}

export interface TrustFiles {
  ca: string[];
  crl: string[];
  identity: IdentityMode;
}

export interface RegistrationInput {
  /** Leaf first; chain certificates may follow. */
  certificatePem: string;
  challenge: string;
  /** Base64; whitespace is ignored. */
  signature: string;
  bareJid: string;
  trust: Trust;
  now?: Date;
}

/** The certificate's facts, or the §2 refusal: bad-certificate, untrusted, identity-mismatch, bad-signature. */
export type RegistrationResult = Result<CertInfo>;
