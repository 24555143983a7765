// The one bare-JID function (RFC 7622 §3.2: the resourcepart goes), as every layer compares
// JIDs: accounts are keyed by it, policy rules and subscriptions name it, doors stamp it.
// Lowercased (the grid's JIDs are ASCII; full PRECIS folding is the XMPP server's) and trimmed.

export function bareJid(jid: string): string {
  const slash = jid.indexOf('/');
  return (slash === -1 ? jid : jid.slice(0, slash)).trim().toLowerCase();
}

/** JIDs compared as XMPP does: local part and domain without case, the resource exactly. */
export function sameJid(a: string, b: string): boolean {
  if (bareJid(a) !== bareJid(b)) return false;
  const i = a.indexOf('/');
  const j = b.indexOf('/');
  return (i === -1 ? '' : a.slice(i + 1)) === (j === -1 ? '' : b.slice(j + 1)) && (i === -1) === (j === -1);
}
