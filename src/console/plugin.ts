// The web console (issue 14 §3): read-mostly pages for administrators, mounted under /admin/
// on the controller's HTTPS server (src/https). Identity as for every HTTPS request (§13: an
// approved account's client certificate or HTTP Basic token, resolved by src/https before any
// route); then only administrators (AccountService.isAdmin: named in the policy AND holding an
// xmppAddr-proven approved account) — 401 without credentials, 403 for everyone else. Every
// decision is audited (`admin-command`, `console:<page or action>`). Approve and deny are the
// CLI's and XEP-0050's operations (src/admin/ops.ts accountOps), decided by `admin:<jid>`.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import { WWW_AUTHENTICATE } from '../https/index.js';
import { accountOps } from '../admin/ops.js';
import { audit } from '../log.js';
import type { Html } from './html.js';
import { Csrf, SESSION_COOKIE, sameOrigin } from './csrf.js';
import { CSS, auditPage, layout, nodesPage, overviewPage, pendingPage, policyPage, refusalPage, resultPage, topicsPage, type PageName } from './pages.js';
import { auditRows, nodeRows, pendingRows, topicRows, type ConsoleDeps } from './views.js';

const HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on a POST.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

const ACTIONS = ['approve', 'deny'] as const;
type Action = (typeof ACTIONS)[number];
/** Longest JID (RFC 7622: three parts of 1023 bytes, two separators). */
const MAX_JID = 3071;

export function consolePlugin(d: ConsoleDeps): FastifyPluginAsync {
  const csrf = new Csrf();
  const log = d.log.child({ mod: 'console' });

  return async (app) => {
    await app.register(cookie);
    await app.register(formbody, { bodyLimit: 8192 });

    app.addHook('onSend', async (_req, reply) => {
      reply.headers(HEADERS);
    });
    app.addHook('onRequest', async (req, reply) => {
      const command = `console:${commandOf(req)}`;
      if (!req.grid.ok) {
        if (req.grid.status === 401) void reply.header('www-authenticate', WWW_AUTHENTICATE);
        return sendHtml(reply.code(req.grid.status), refusalPage(req.grid.status, req.grid.reason));
      }
      const refusal = d.accounts.checkAdmin(req.grid.jid, command);
      if (refusal) return sendHtml(reply.code(403), refusalPage(403, refusal));
      return undefined;
    });

    /** The admin's session (set now when the browser has none) and its CSRF token. */
    const session = (req: FastifyRequest, reply: FastifyReply): string => {
      let sid = req.cookies[SESSION_COOKIE];
      if (!csrf.isSession(sid)) {
        sid = csrf.newSession();
        void reply.setCookie(SESSION_COOKIE, sid, { path: '/admin', httpOnly: true, secure: true, sameSite: 'strict' });
      }
      return sid;
    };
    const page = (name: PageName, title: string, body: (req: FastifyRequest, reply: FastifyReply) => Parameters<typeof layout>[3]) =>
      app.get(name ? `/${name}` : '/', async (req, reply) => sendHtml(reply, layout(title, name, adminOf(req), body(req, reply))));

    app.get('/console.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(CSS));
    page('', 'Overview', () => overviewPage(d.status()));
    page('nodes', 'Nodes', () => nodesPage(nodeRows(d)));
    page('pending', 'Pending approvals', (req, reply) => pendingPage(pendingRows(d), csrf.token(session(req, reply), adminOf(req))));
    page('topics', 'Topics', () => topicsPage(topicRows(d)));
    page('audit', 'Recent audit events', () => auditPage(auditRows(d), d.audit.total));
    page('policy', 'Policy', () => policyPage(d.status()));

    app.post<{ Params: { action: string } }>('/accounts/:action', async (req, reply) => {
      const action = req.params.action as Action;
      if (!ACTIONS.includes(action)) return sendHtml(reply.code(404), layout('Not found', null, adminOf(req), resultPage(false, 'no such action')));
      const admin = adminOf(req);
      const form = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      const refuse = (reason: string) => {
        audit(log, 'admin-command', { jid: admin, command: `console:${action}`, result: 'refused', reason });
        return sendHtml(reply.code(403), layout('Refused', null, admin, resultPage(false, reason)));
      };
      if (!sameOrigin(req.headers.origin, req.headers.host, d.publicUrl)) return refuse('the request does not come from this console (Origin header missing or another site)');
      if (!csrf.check(req.cookies[SESSION_COOKIE], admin, form.csrf)) return refuse('the form is stale or not from this session: reload the page and try again');
      const target = form.jid;
      if (typeof target !== 'string' || !target || target.length > MAX_JID) return sendHtml(reply.code(400), layout('Bad request', null, admin, resultPage(false, 'the form names no JID')));
      const ops = accountOps(d.accounts, `admin:${admin}`);
      const r = await ops[`accounts.${action}`]({ jid: target });
      if ('fail' in r) {
        log.info({ admin, action, jid: target, fail: r.fail }, 'console action refused by the account service');
        return sendHtml(reply.code(r.fail === 'item-not-found' ? 404 : 409), layout('Not done', null, admin, resultPage(false, `${action} ${target}: ${r.text ?? r.fail}`)));
      }
      const a = r.value;
      const text = action === 'approve' ? `approved ${a.jid}; groups: ${a.groups.length ? a.groups.join(', ') : 'none'}` : `denied ${a.jid}`;
      return sendHtml(reply, layout('Done', null, admin, resultPage(true, text)));
    });

    app.setNotFoundHandler(async (req, reply) => sendHtml(reply.code(404), layout('Not found', null, adminOf(req), resultPage(false, `no page ${req.url}`))));
  };
}

function adminOf(req: FastifyRequest): string {
  return req.grid.ok ? req.grid.jid : '';
}

/** What the audit event names: the page or the action (a fixed set, whatever the URL says). */
function commandOf(req: FastifyRequest): string {
  const path = (req.url.split('?')[0] ?? '').replace(/^\/admin\/?/, '').replace(/\/$/, '');
  if (req.method === 'POST') {
    const action = /^accounts\/(approve|deny)$/.exec(path)?.[1];
    return action ?? 'post';
  }
  return ['', 'nodes', 'pending', 'topics', 'audit', 'policy', 'console.css'].includes(path) ? path || 'overview' : 'other';
}

function sendHtml(reply: FastifyReply, page: Html): FastifyReply {
  return reply.type('text/html; charset=utf-8').send(page.value);
}
