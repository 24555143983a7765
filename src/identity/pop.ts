// Proof of possession (PROTOCOL §2 step 5): the node signs the exact UTF-8 challenge with
// its certificate's key. RSA: PKCS#1 v1.5 with SHA-256. EC: ECDSA P-256 with SHA-256, the
// signature a DER ECDSA-Sig-Value. Both through Node's crypto.sign / crypto.verify.
import { createPrivateKey, sign, verify, type KeyObject } from 'node:crypto';
import { fail, ok, type Result } from '../result.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Base64 signature of the challenge; used by tests and the node agent. */
export function signChallenge(keyPem: string, challenge: string): string {
  const key = createPrivateKey(keyPem);
  return sign('sha256', Buffer.from(challenge, 'utf8'), { key, dsaEncoding: 'der' }).toString('base64');
}

/** Strict RFC 4648 §4 base64 (padded), whitespace ignored; undefined if it is not that. */
export function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || !BASE64.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}

/** The signature verifies, or `bad-signature` with the reason. */
export function verifyChallengeSignature(publicKey: KeyObject, challenge: string, signature: string): Result<void> {
  const sig = decodeBase64(signature);
  if (!sig) return fail('bad-signature', 'signature is not base64 (RFC 4648, padded)');
  let verified = false;
  try {
    verified = verify('sha256', Buffer.from(challenge, 'utf8'), { key: publicKey, dsaEncoding: 'der' }, sig);
  } catch {
    verified = false; // malformed DER ECDSA-Sig-Value and the like: simply not a valid signature
  }
  return verified
    ? ok(undefined)
    : fail('bad-signature', `signature does not verify with the certificate's ${publicKey.asymmetricKeyType === 'ec' ? 'EC P-256 (ECDSA SHA-256, DER)' : 'RSA (PKCS#1 v1.5 SHA-256)'} key over the challenge`);
}
