// The certificate checks of a registration (PROTOCOL §2 steps 2–5), in the protocol's
// order; the first failure decides the error code. Expected failures are results, never
// exceptions, so the XMPP handler can map each code to its stanza error.
import { certInfo, keyTypeOf, parsePemChain } from './certinfo.js';
import { verifyChain } from './chain.js';
import { verifyChallengeSignature } from './pop.js';
import { bareJid } from '../jid.js';
import { fail, isFail, ok } from '../result.js';
import type { IdentityMode, ParsedCert, RegistrationInput, RegistrationResult } from './types.js';


function unsupportedKey(leaf: ParsedCert): string | undefined {
  const type = keyTypeOf(leaf.x509);
  if (!type) return `the certificate's key type ${String(leaf.x509.publicKey.asymmetricKeyType)} is not supported (RSA or EC P-256)`;
  const curve = leaf.x509.publicKey.asymmetricKeyDetails?.namedCurve;
  if (type === 'ec' && curve !== 'prime256v1') return `the certificate's EC key is on ${String(curve)}; only P-256 is supported`;
  return undefined;
}

/** Why the leaf does not name `claimed`, or undefined when it does (step 4). */
export function identityFailure(leaf: ParsedCert, claimed: string, mode: IdentityMode): string | undefined {
  const jid = bareJid(claimed);
  const { xmppAddrs, dnsNames, emails } = leaf.ext;
  if (xmppAddrs.some((a) => bareJid(a) === jid)) return undefined;
  if (xmppAddrs.length > 0) {
    // A certificate that names its XMPP identity explicitly speaks for that identity only,
    // even where CN fallback is allowed (RFC 6120 §13.7.1.4 prefers xmppAddr).
    return `the certificate's xmppAddr is ${xmppAddrs.join(', ')}, not ${jid}`;
  }
  if (mode === 'xmppaddr') return `the certificate has no xmppAddr SAN (id-on-xmppAddr) for ${jid}`;
  const cn = leaf.asn.tbsCertificate.subject.flatMap((rdn) => [...rdn]).filter((atv) => atv.type === '2.5.4.3').map((atv) => atv.value.toString());
  if ([...dnsNames, ...emails, ...cn].some((n) => n.toLowerCase() === jid)) return undefined;
  return `neither an xmppAddr, dNSName or rfc822Name SAN nor the subject CN of the certificate is ${jid}`;
}

export function verifyRegistration(input: RegistrationInput): RegistrationResult {
  const now = input.now ?? new Date();
  let chain: ParsedCert[];
  try {
    chain = parsePemChain(input.certificatePem);
  } catch (err) {
    return fail('bad-certificate', `certificate: ${(err as Error).message}`);
  }
  const leaf = chain[0]!;
  const keyProblem = unsupportedKey(leaf);
  if (keyProblem) return fail('bad-certificate', keyProblem);

  const trusted = verifyChain(chain, input.trust, now);
  if (isFail(trusted)) return trusted;

  const mismatch = identityFailure(leaf, input.bareJid, input.trust.identity);
  if (mismatch) return fail('identity-mismatch', mismatch);

  const pop = verifyChallengeSignature(leaf.x509.publicKey, input.challenge, input.signature);
  if (isFail(pop)) return pop;

  const issuer = trusted.value[1]!;
  return ok({ ...certInfo(leaf), issuerSpki: issuer.x509.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') });
}
