// `grid-controller accounts show JID`: every stored field of one account, one per line, in
// the order an administrator deciding on it reads them.
import type { ListedAccount } from '../admin/types.js';

/** Device type, issuer and the like come from nodes: never let them drive the terminal. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function dn(rdn: Record<string, string>): string {
  return Object.entries(rdn).map(([k, v]) => `${k}=${v}`).join(', ') || '-';
}

export function showAccount(a: ListedAccount): string[] {
  const status = a.effective === a.status ? a.status : `${a.effective} (stored ${a.status}; the certificate expired)`;
  const rows: [string, string][] = [
    ['jid', a.jid],
    ['status', status],
    ['groups granted', a.groups.join(', ') || 'none'],
    ['groups requested', a.requestedGroups.join(', ') || 'none'],
    ['device type', a.deviceType ?? '-'],
    ['description', a.description ?? '-'],
    ['cert subject', dn(a.cert.subject)],
    ['cert issuer', dn(a.cert.issuer)],
    ['cert serial', a.cert.serial],
    ['cert fingerprint', `SHA-256 ${a.cert.fingerprint}`],
    ['cert key type', a.cert.keyType ?? '-'],
    ['cert not before', a.cert.notBefore],
    ['cert not after', a.cert.notAfter],
    ['decided by', a.decidedBy],
    ['decided at', a.decidedAt],
    ['registered', a.createdAt],
    ['updated', a.updatedAt],
    ['online', a.seen ? (a.seen.online ? 'yes' : 'no') : 'unknown (the controller is not running)'],
    ['last seen', a.seen ? (a.seen.lastSeen ?? `not since the controller started (${a.seen.since})`) : 'unknown (the controller is not running)'],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${printable(v)}`);
}
