// Who is asking (PROTOCOL §13 "Identity"): a TLS client certificate verified against
// trust.ca and trust.crl exactly as a registration's (§2: identity/chain.ts), its xmppAddr the
// bare JID; or, where enabled, HTTP Basic with the account's token. Then the approval gate
// (§1): valid credentials without an approved account are 403 on every path.
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { AccountService } from '../accounts/service.js';
import { bareJid } from '../jid.js';
import { isFail } from '../result.js';
import { parseCertDer } from '../identity/certinfo.js';
import { verifyChain } from '../identity/chain.js';
import type { ParsedCert, Trust } from '../identity/types.js';
import type { PolicySubject } from '../policy/types.js';

export type Identity =
  | { ok: true; jid: string; via: 'certificate' | 'basic'; subject: PolicySubject }
  /** 401: none or bad credentials (answer with WWW-Authenticate); 403: an account that may not use the grid. */
  | { ok: false; status: 401 | 403; reason: string; jid?: string };

/** What a TLS client certificate proved: a bare JID, nothing, or why it is refused. */
export type CertOutcome = { jid: string } | { none: true } | { refused: string };

export interface IdentityDeps {
  accounts: AccountService;
  trust: () => Trust;
  basic: boolean;
  now?: () => Date;
}

/** The peer's certificates as the TLS stack gives them, leaf first (issuers it knows follow). */
export function peerChain(socket: TLSSocket): Buffer[] {
  const leaf = socket.getPeerCertificate(true) as PeerCertificate & { issuerCertificate?: PeerCertificate };
  if (!leaf || !leaf.raw) return [];
  const out: Buffer[] = [];
  const seen = new Set<string>();
  let c: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = leaf;
  while (c && c.raw && !seen.has(c.fingerprint256) && out.length < 8) {
    seen.add(c.fingerprint256);
    out.push(c.raw);
    c = c.issuerCertificate as typeof c;
  }
  return out;
}

/** §2's chain check on a presented chain, then the JID it names (xmppAddr; CN where trust.identity allows). */
export function certIdentity(chainDer: Buffer[], trust: Trust, now: Date): CertOutcome {
  if (chainDer.length === 0) return { none: true };
  let chain: ParsedCert[];
  try {
    chain = chainDer.map(parseCertDer);
  } catch (err) {
    return { refused: `client certificate does not parse: ${(err as Error).message}` };
  }
  const v = verifyChain(chain, trust, now);
  if (isFail(v)) return { refused: `client certificate: ${v.text}` };
  const leaf = chain[0]!;
  const addr = leaf.ext.xmppAddrs[0];
  if (addr) return { jid: bareJid(addr) };
  if (trust.identity === 'xmppaddr-or-cn') {
    const cn = leaf.asn.tbsCertificate.subject.flatMap((rdn) => [...rdn]).find((atv) => atv.type === '2.5.4.3')?.value.toString();
    if (cn) return { jid: bareJid(cn) };
  }
  return { refused: 'client certificate has no xmppAddr SAN (id-on-xmppAddr)' };
}

/** HTTP Basic credentials (RFC 7617), or null when the header is absent or not Basic. */
export function parseBasic(header: string | undefined): { user: string; password: string } | null | 'malformed' {
  if (!header) return null;
  const m = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return /^Basic\b/i.test(header) ? 'malformed' : null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return 'malformed';
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The policy subject of an approved account (the same fields the XMPP door uses). */
export function subjectOf(accounts: AccountService, bare: string): PolicySubject | null {
  return accounts.subject(bare);
}

/** Combines certificate and Basic into one identity (§13: naming different accounts → 401). */
export function resolveIdentity(d: IdentityDeps, cert: CertOutcome, authorization: string | undefined): Identity {
  if ('refused' in cert) return { ok: false, status: 401, reason: cert.refused };
  let jid: string | undefined = 'jid' in cert ? cert.jid : undefined;
  let via: 'certificate' | 'basic' = 'certificate';
  const basic = d.basic ? parseBasic(authorization) : null;
  if (basic === 'malformed') return { ok: false, status: 401, reason: 'malformed HTTP Basic credentials' };
  if (basic) {
    const user = bareJid(basic.user);
    if (!d.accounts.checkToken(user, basic.password)) return { ok: false, status: 401, reason: `bad token for ${user}` };
    if (jid && jid !== user) return { ok: false, status: 401, reason: `the certificate names ${jid}, HTTP Basic names ${user}` };
    if (!jid) via = 'basic';
    jid = user;
  }
  if (!jid) return { ok: false, status: 401, reason: d.basic ? 'no client certificate and no HTTP Basic credentials' : 'no client certificate' };
  const gate = d.accounts.gate(jid);
  if (gate) return { ok: false, status: 403, jid, reason: gate.text ?? gate.fail };
  const subject = subjectOf(d.accounts, jid);
  if (!subject) return { ok: false, status: 403, jid, reason: 'account not approved' };
  return { ok: true, jid, via, subject };
}
