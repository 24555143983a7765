// The console's pages: server-rendered HTML, every value through html`` (html.ts). The one
// stylesheet is served by the plugin (no inline style, no script: the CSP forbids both).
import { html, urlPart, type Html, type Part } from './html.js';
import type { StatusReport } from '../admin/status.js';
import type { AuditEntry } from '../admin/audit-ring.js';
import type { NodeRow, PendingRow, TopicRow } from './views.js';

export const NAV = [['', 'Overview'], ['nodes', 'Nodes'], ['pending', 'Pending'], ['topics', 'Topics'], ['audit', 'Audit'], ['policy', 'Policy']] as const;
export type PageName = (typeof NAV)[number][0];

export function layout(title: string, current: PageName | null, admin: string, body: Part): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — XMPP-Grid console</title><link rel="stylesheet" href="/admin/console.css"></head>
<body><header><strong>XMPP-Grid console</strong><nav>${NAV.map(([path, label]) =>
    html`<a href="/admin/${path}"${path === current ? html` aria-current="page"` : ''}>${label}</a>`)}</nav><span class="who">${admin}</span></header>
<main><h1>${title}</h1>
${body}
</main></body></html>
`;
}

const yesNo = (b: boolean) => (b ? 'yes' : 'no');
const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : '—');
const when = (iso: string | null) => (iso ? html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>` : '—');

export function overviewPage(r: StatusReport): Html {
  const by = r.accounts.by_state;
  const reload = r.policy.last_reload;
  return html`<table class="kv">
<tr><th>version</th><td>${r.version} (pid ${r.pid}), up since ${when(r.started_at)}</td></tr>
<tr><th>XMPP link</th><td class="${r.xmpp.link}">${r.xmpp.link}</td><td>${r.xmpp.domain} via ${r.xmpp.service}</td></tr>
<tr><th>TAXII</th><td>${r.taxii.url ?? 'off'}</td></tr>
<tr><th>metrics</th><td>${r.metrics.url ?? 'off'}</td></tr>
<tr><th>multicast</th><td>${r.multicast.in_use ? `in use (${r.multicast.hosts.join(', ')})` : `not in use (${r.multicast.mode})`}</td></tr>
<tr><th>accounts</th><td><a href="/admin/pending">${by.pending} pending</a>, ${by.approved} approved, ${by.denied} denied, ${by.revoked} revoked, ${by.suspended} suspended; ${r.accounts.online} online</td></tr>
<tr><th>topics</th><td>${r.topics.topics} topics, ${r.topics.subtopics} subtopics, ${r.topics.subscriptions} subscriptions; ${r.items.stored} items stored</td></tr>
<tr><th>policy</th><td><code>${r.policy.digest}</code></td></tr>
<tr><th>last reload</th><td>${reload ? html`${reload.ok ? 'ok' : html`<span class="bad">rejected</span>`} at ${when(reload.at)}` : 'none since start'}</td></tr>
</table>`;
}

export function nodesPage(rows: NodeRow[]): Html {
  if (!rows.length) return html`<p>No accounts yet.</p>`;
  return html`<table><thead><tr><th>JID</th><th>state</th><th>groups</th><th>requested</th><th>device</th><th>online</th><th>last seen</th><th>decided by</th></tr></thead><tbody>
${rows.map((r) => html`<tr data-jid="${r.jid}"><td>${r.jid}</td><td class="${r.state}">${r.state}</td><td>${list(r.groups)}</td><td>${list(r.requested)}</td><td>${r.deviceType || '—'}</td><td>${yesNo(r.online)}</td><td>${when(r.lastSeen)}</td><td>${r.decidedBy} ${when(r.decidedAt)}</td></tr>
`)}</tbody></table>`;
}

/** Each pending account with approve and deny: POST forms carrying the session's CSRF token. */
export function pendingPage(rows: PendingRow[], csrf: string): Html {
  if (!rows.length) return html`<p>Nothing waits for approval.</p>`;
  const form = (action: 'approve' | 'deny', jid: string) => html`<form method="post" action="/admin/accounts/${action}"><input type="hidden" name="jid" value="${jid}"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="${action}" name="do" value="${action}">${action}</button></form>`;
  return html`<table><thead><tr><th>JID</th><th>device</th><th>asks for</th><th>certificate</th><th>since</th><th></th></tr></thead><tbody>
${rows.map((r) => html`<tr data-jid="${r.jid}"><td>${r.jid}${r.description ? html`<br><small>${r.description}</small>` : ''}</td><td>${r.deviceType || '—'}</td><td>${list(r.requested)}</td>
<td><small>subject ${r.certSubject}<br>issuer ${r.certIssuer}<br>SHA-256 ${r.fingerprint}<br>valid until ${when(r.notAfter)}</small></td><td>${when(r.since)}</td>
<td class="actions">${form('approve', r.jid)}${form('deny', r.jid)}</td></tr>
`)}</tbody></table>
<p><small>Approve gives the requested groups the policy declares; to choose others use <code>grid-controller accounts approve JID --groups …</code>.</small></p>`;
}

export function topicsPage(rows: TopicRow[]): Html {
  if (!rows.length) return html`<p>No topics.</p>`;
  const filter = (f: Record<string, string[]>) => Object.entries(f).map(([k, v]) => `${k} = ${v.join(' | ')}`).join('; ');
  return html`<table><thead><tr><th>topic</th><th>content</th><th>filter fields</th><th>subscribers</th><th>items</th><th>last hour</th><th>last day</th><th>last published</th><th>published by</th></tr></thead><tbody>
${rows.map((t) => html`<tr data-topic="${t.name}"><td><a href="/admin/topics#${urlPart(t.name)}" id="${t.name}">${t.name}</a>${t.title ? html`<br><small>${t.title}</small>` : ''}</td>
<td>${t.contentType}<br><small>${t.filtering} filtering, ${t.source}</small></td><td>${list(Object.keys(t.filterFields))}</td><td>${t.subscribers}</td>
<td>${t.items} / ${t.maxItems}</td><td>${t.lastHour}</td><td>${t.lastDay}</td><td>${when(t.lastPublished)}</td><td>${list(t.publishedBy)}</td></tr>
${t.subtopics.map((s) => html`<tr class="subtopic" data-subtopic="${s.node}"><td colspan="2">↳ <code>${s.node}</code></td><td colspan="5">${filter(s.filter)}</td><td colspan="2">${s.subscribers} subscribers</td></tr>
`)}`)}</tbody></table>`;
}

export function auditPage(rows: AuditEntry[], total: number): Html {
  if (!rows.length) return html`<p>No audit events since start.</p>`;
  return html`<p>The latest ${rows.length} of ${total} audit events since start, newest first (the log has all of them: <code>jq 'select(.audit)'</code>).</p>
<table><thead><tr><th>time</th><th>event</th><th>JID</th><th>fields</th></tr></thead><tbody>
${rows.map((e) => {
    const { jid, ...rest } = e.fields as { jid?: unknown } & Record<string, unknown>;
    return html`<tr><td>${when(e.at)}</td><td>${e.event}</td><td>${typeof jid === 'string' ? jid : '—'}</td><td><code>${JSON.stringify(rest)}</code></td></tr>
`;
  })}</tbody></table>`;
}

export function policyPage(r: StatusReport): Html {
  const p = r.policy;
  const reload = p.last_reload;
  return html`<table class="kv">
<tr><th>digest</th><td><code>${p.digest}</code></td></tr>
<tr><th>loaded</th><td>${when(p.loaded_at)}: ${p.rules} rules from ${p.files.length} files</td></tr>
<tr><th>files</th><td>${p.files.map((f) => html`<code>${f}</code><br>`)}</td></tr>
<tr><th>last reload</th><td>${reload ? html`${reload.ok ? 'ok' : html`<span class="bad">rejected</span> (the policy above stays in force)`} at ${when(reload.at)}` : 'none since start'}</td></tr>
</table>
${reload && !reload.ok ? html`<h2>Last reload error</h2><ul class="errors">${(reload.errors ?? []).map((e) => html`<li><code>${e}</code></li>`)}</ul>` : ''}`;
}

export function resultPage(ok: boolean, text: string): Html {
  return html`<p class="${ok ? 'ok' : 'bad'}" id="result">${text}</p><p><a href="/admin/pending">Back to pending approvals</a> · <a href="/admin/nodes">Nodes</a></p>`;
}

export function refusalPage(status: number, reason: string): Html {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${status} — XMPP-Grid console</title></head>
<body><h1>${status === 401 ? 'Who are you?' : 'Not for you'}</h1><p>${reason}</p>
<p>The console is for administrators named in the policy: log in with an administrator's client certificate, or with that account's HTTP Basic token (<code>grid-controller accounts token JID</code>; <code>taxii.basic</code> on).</p></body></html>
`;
}

export const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{display:flex;gap:1.5em;align-items:center;padding:.6em 1em;background:#1d3557;color:#fff}
header a{color:#dfe8f5;margin-right:1em;text-decoration:none}header a[aria-current]{color:#fff;text-decoration:underline}
.who{margin-left:auto;font-size:90%}main{padding:1em}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}
table.kv{width:auto}table.kv th{width:10em}tr.subtopic td{background:#f6f8fb;font-size:92%}
.up,.approved,.ok{color:#1a7f37}.down,.bad,.denied,.revoked,.suspended{color:#b42318}.pending{color:#9a6700}
form{display:inline}button{margin:0 .2em;padding:.2em .8em}button.approve{background:#1a7f37;color:#fff;border:0}button.deny{background:#b42318;color:#fff;border:0}
code{font-size:92%;word-break:break-all}
`;
