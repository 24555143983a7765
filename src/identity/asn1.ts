// ASN.1 of X.509 through @peculiar/asn1-x509 (a maintained, synchronous schema library).
// Node's crypto.X509Certificate cannot decode otherName SANs, extended key usage or CRLs,
// and node-forge cannot read EC certificates, so these structures are read here.
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AttributeTypeAndValue, AttributeValue, BasicConstraints, Certificate, DirectoryString,
  ExtendedKeyUsage, GeneralName, KeyUsage, Name, OtherName, RelativeDistinguishedName,
  SubjectAlternativeName, id_ce_basicConstraints, id_ce_extKeyUsage, id_ce_keyUsage, id_ce_subjectAltName,
  id_kp_clientAuth, id_kp_serverAuth, id_kp_codeSigning, id_kp_emailProtection,
} from '@peculiar/asn1-x509';

/** id-on-xmppAddr (RFC 6120 §13.7.1.4). */
export const ID_ON_XMPPADDR = '1.3.6.1.5.5.7.8.5';
export const EKU_CLIENT_AUTH = id_kp_clientAuth;

const EKU_NAMES: Record<string, string> = {
  clientAuth: id_kp_clientAuth,
  serverAuth: id_kp_serverAuth,
  codeSigning: id_kp_codeSigning,
  emailProtection: id_kp_emailProtection,
};

export function ekuOid(nameOrOid: string): string {
  const oid = EKU_NAMES[nameOrOid] ?? nameOrOid;
  if (!/^\d+(\.\d+)+$/.test(oid)) throw new Error(`unknown extended key usage "${nameOrOid}" (use a name like clientAuth or an OID)`);
  return oid;
}

const ATTR_OIDS: Record<string, string> = {
  C: '2.5.4.6', ST: '2.5.4.8', L: '2.5.4.7', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3',
  serialNumber: '2.5.4.5', DC: '0.9.2342.19200300.100.1.25', emailAddress: '1.2.840.113549.1.9.1',
};
const ATTR_NAMES: Record<string, string> = Object.fromEntries(Object.entries(ATTR_OIDS).map(([k, v]) => [v, k]));

/** Builds a Name in the order given; values are UTF8String (RFC 5280 §4.1.2.6 recommends it). */
export function buildName(attrs: [string, string | undefined][]): Name {
  const rdns = attrs
    .filter((a): a is [string, string] => a[1] !== undefined && a[1] !== '')
    .map(([k, v]) => {
      const type = ATTR_OIDS[k];
      if (!type) throw new Error(`unsupported name attribute ${k}`);
      const value = k === 'C' ? new AttributeValue({ printableString: v }) : new AttributeValue({ utf8String: v });
      return new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value })]);
    });
  return new Name(rdns);
}

/** Name as a plain record (first value of each attribute). */
export function nameToRecord(name: Name): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rdn of name) {
    for (const atv of rdn) {
      const key = ATTR_NAMES[atv.type] ?? atv.type;
      if (!(key in out)) out[key] = attributeText(atv.value);
    }
  }
  return out;
}

function attributeText(v: AttributeValue): string {
  return v.utf8String ?? v.printableString ?? v.ia5String ?? v.bmpString ?? v.universalString ?? v.teletexString ?? '';
}

/** Readable one-line form for error texts, e.g. "CN=soc1, O=Grid Dev". */
export function nameToText(name: Name): string {
  return Object.entries(nameToRecord(name)).reverse().map(([k, v]) => `${k}=${v}`).join(', ');
}

/** Canonical key to compare names (re-encoded by one library, so equal names give equal keys). */
export function nameKey(name: Name): string {
  return Buffer.from(AsnConvert.serialize(name)).toString('hex');
}

export function xmppAddrName(jid: string): GeneralName {
  // otherName value is [0] EXPLICIT UTF8String; asn1-x509 tags `value` EXPLICIT, we supply the UTF8String.
  const utf8 = AsnConvert.serialize(new DirectoryString({ utf8String: jid }));
  return new GeneralName({ otherName: new OtherName({ typeId: ID_ON_XMPPADDR, value: utf8 }) });
}

/** The extensions the verifier reads from a certificate, decoded. */
export interface CertExtensions {
  basicConstraints?: { cA: boolean; pathLen?: number };
  eku?: string[];
  keyUsage?: KeyUsage;
  xmppAddrs: string[];
  dnsNames: string[];
  emails: string[];
  critical: string[];
}

export function readExtensions(cert: Certificate): CertExtensions {
  const out: CertExtensions = { xmppAddrs: [], dnsNames: [], emails: [], critical: [] };
  for (const ext of cert.tbsCertificate.extensions ?? []) {
    if (ext.critical) out.critical.push(ext.extnID);
    const raw = ext.extnValue.buffer;
    switch (ext.extnID) {
      case id_ce_basicConstraints: {
        const bc = AsnConvert.parse(raw, BasicConstraints);
        out.basicConstraints = { cA: bc.cA, pathLen: bc.pathLenConstraint };
        break;
      }
      case id_ce_extKeyUsage:
        out.eku = [...AsnConvert.parse(raw, ExtendedKeyUsage)];
        break;
      case id_ce_keyUsage:
        out.keyUsage = AsnConvert.parse(raw, KeyUsage);
        break;
      case id_ce_subjectAltName:
        readSan(AsnConvert.parse(raw, SubjectAlternativeName), out);
        break;
    }
  }
  return out;
}

function readSan(san: SubjectAlternativeName, out: CertExtensions): void {
  for (const gn of san) {
    if (gn.dNSName !== undefined) out.dnsNames.push(gn.dNSName);
    if (gn.rfc822Name !== undefined) out.emails.push(gn.rfc822Name);
    if (gn.otherName?.typeId === ID_ON_XMPPADDR) {
      const text = AsnConvert.parse(gn.otherName.value, DirectoryString).utf8String;
      // RFC 6120 requires UTF8String; another string type is not an xmppAddr we accept.
      if (text !== undefined) out.xmppAddrs.push(text);
    }
  }
}

/** Parses DER into the schema object; throws on malformed input. */
export function parseCertificateDer(der: Uint8Array): Certificate {
  return AsnConvert.parse(der, Certificate);
}

/**
 * Serial as upper-case hex without leading zeros: the integer's value, one form for every
 * source. Node's X509Certificate.serialNumber (and openssl) keep whole bytes ('07D9…'), so a
 * serial from there is passed through this before it is compared or stored.
 */
export function normalizeSerial(serial: string | ArrayBuffer): string {
  const hex = typeof serial === 'string' ? serial.replace(/[:\s]/g, '') : Buffer.from(serial).toString('hex');
  if (!/^[0-9a-fA-F]+$/.test(hex)) throw new Error(`serial "${serial as string}" is not hexadecimal`);
  return hex.replace(/^0+(?=.)/, '').toUpperCase();
}
