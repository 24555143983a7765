// `grid-node csr`: the node makes its own key and a PKCS #10 request (RFC 2986) for the
// operator's CA, so the private key never leaves the node. The subject proposes CN = the
// node's JID plus the O/OU the policy may match on; the CA certifies the JID in the
// id-on-xmppAddr SAN. Keys from Node's crypto, structures from @peculiar/asn1-*.
// (The agent imports nothing of the controller, hence its own few lines of PKCS #10.)
import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';

export type CsrKeyType = 'rsa' | 'ec';

export interface CsrSubject {
  jid: string;
  O?: string;
  OU?: string;
}

const OIDS = { CN: '2.5.4.3', O: '2.5.4.10', OU: '2.5.4.11' } as const;

function subjectName(s: CsrSubject): Name {
  const attrs: [keyof typeof OIDS, string | undefined][] = [['O', s.O], ['OU', s.OU], ['CN', s.jid]];
  return new Name(attrs.filter((a): a is [keyof typeof OIDS, string] => !!a[1]).map(([k, v]) =>
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type: OIDS[k], value: new AttributeValue({ utf8String: v }) })])));
}

function pem(label: string, der: ArrayBuffer | Buffer): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der as ArrayBuffer).toString('base64').replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

/** A new key pair (RSA 2048 or EC P-256) and a CSR signed with it (SHA-256). */
export function makeKeyAndCsr(subject: CsrSubject, keyType: CsrKeyType = 'rsa'): { keyPem: string; csrPem: string } {
  const { privateKey } = keyType === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), csrPem: csrFor(privateKey, subject) };
}

export function csrFor(privateKey: KeyObject, subject: CsrSubject): string {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const info = new CertificationRequestInfo({ subject: subjectName(subject), subjectPKInfo: AsnConvert.parse(spki, SubjectPublicKeyInfo) });
  const alg = privateKey.asymmetricKeyType === 'ec'
    ? new AlgorithmIdentifier({ algorithm: '1.2.840.10045.4.3.2' }) // ecdsa-with-SHA256
    : new AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.11', parameters: new Uint8Array([0x05, 0x00]).buffer }); // sha256WithRSAEncryption
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(info)), { key: privateKey, dsaEncoding: 'der' });
  const csr = new CertificationRequest({ certificationRequestInfo: info, signatureAlgorithm: alg, signature: new Uint8Array(signature).buffer });
  return pem('CERTIFICATE REQUEST', AsnConvert.serialize(csr));
}
