// Transport and routing failures a person can act on: the likely cause and the flag to
// check, in one sentence, before the raw reason (which stays, for a search or a bug report).
import type { GridError } from '../errors.js';

interface Hint {
  matches(e: GridError): boolean;
  say: string;
}

const text = (e: GridError) => `${e.message} ${e.text ?? ''}`;
const is = (e: GridError, kind: GridError['kind'], condition?: string) => e.kind === kind && (!condition || e.condition === condition);

const HINTS: Hint[] = [
  {
    // ejabberd closes a plain stream on its TLS port without a word: an empty reason at connect.
    matches: (e) => (is(e, 'connection', 'connect') && /ECONNRESET|socket hang up|wrong version number|EPROTO/i.test(text(e))) ||
      (is(e, 'connection') && /^XMPP stream with \S+ failed:\s*$/.test(e.message.split('\n')[0]!)),
    say: 'the port in --service speaks another protocol: use xmpps:// for the direct-TLS port (5223) and xmpp:// for STARTTLS (5222)',
  },
  {
    matches: (e) => is(e, 'connection', 'tls') && /wrong version number|packet length too long|http request/i.test(text(e)),
    say: 'the port in --service speaks another protocol: use xmpps:// for the direct-TLS port (5223) and xmpp:// for STARTTLS (5222)',
  },
  {
    matches: (e) => is(e, 'connection', 'connect') && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|EAI_AGAIN/.test(text(e)),
    say: 'nothing answers at the address in --service: check its host and port, and that the XMPP server runs',
  },
  {
    matches: (e) => is(e, 'connection', 'tls') && /unrecognized name|altname|does not match certificate|ERR_TLS_CERT_ALTNAME/i.test(text(e)),
    say: "the XMPP server does not serve the domain in --domain (the TLS server name): check --domain",
  },
  {
    matches: (e) => is(e, 'connection', 'tls') && /self[- ]signed|unable to (get|verify)|certificate (has expired|is not yet valid)|unknown ca|UNABLE_TO|CERT_/i.test(text(e)),
    say: "the server's certificate does not verify against the CA in --ca: pass the CA that issued the XMPP server's certificate",
  },
  {
    matches: (e) => is(e, 'connection', 'sasl'),
    say: "the XMPP server does not accept this node's certificate (--cert, --key): it must come from a CA the server trusts and name the node's JID (xmppAddr)",
  },
  {
    matches: (e) => is(e, 'stanza') && /remote domains|remote-server-not-found/i.test(`${e.condition} ${text(e)}`),
    say: 'no controller at the JID in --controller (default controller.<domain>) on this server: check --controller and --domain',
  },
  {
    // The server answered for the controller. ejabberd (s2s off) answers a JID of no
    // component on it the same way, so a wrong --controller reads like this too.
    matches: (e) => e.kind === 'unavailable',
    say: 'the controller is not connected to the XMPP server (stopped or restarting, or --controller names no component there): try again shortly; if it persists, check --controller',
  },
  {
    matches: (e) => is(e, 'stanza') && (e.appCondition === 'not-connected' || /component unavailable/i.test(text(e)) || e.condition === 'remote-server-timeout'),
    say: 'the controller is not connected to the XMPP server (stopped or restarting): try again shortly; if it persists, check --controller',
  },
];

/** The sentence for a failure a person can act on, or undefined when the message says it all. */
export function hintFor(e: GridError): string | undefined {
  return HINTS.find((h) => h.matches(e))?.say;
}
