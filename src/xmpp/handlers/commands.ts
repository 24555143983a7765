// XEP-0050 ad-hoc commands for administrators (PROTOCOL §10). Each command is a form on
// `execute` and a result on `complete`; commands without fields complete at once. Every
// account change goes through AccountService (which audits), acting as `admin:<jid>`.
//
// The route is exempt from the approval gate; admin status (named in the policy AND an approved
// account registered with an xmppAddr certificate, AccountService.isAdmin) is checked here on
// every stage instead, and a refusal is audited.
import { randomUUID } from 'node:crypto';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import type { AccountService } from '../../accounts/service.js';
import { accountOps, runOp } from '../../admin/ops.js';
import type { AdminOpArgs, AdminOpName, AdminOpResults, AdminOps, ListedAccount } from '../../admin/types.js';
import { ACCOUNT_STATUSES, type Account } from '../../accounts/types.js';
import { fail, ok, type Fail, type Result, isFail } from '../../result.js';
import { errorElement } from '../errors.js';
import { findForm, buildForm, type FieldSpec } from '../forms.js';
import { NS } from '../ns.js';
import type { Router } from '../router.js';
import type { Disco } from './disco.js';

export interface CommandHooks {
  topics?: () => Promise<string>;
  stats?: () => Promise<string>;
  reloadPolicy?: () => Promise<string>;
  /** Groups the policy declares: the options of the `groups` fields. */
  declaredGroups?: () => string[];
}

export interface AdHocCommands {
  /** disco#items on node `http://jabber.org/protocol/commands`: the commands, for administrators only (§1). */
  commandItems(bare: string, controllerJid: string): Element;
  /** disco#info on a command node (XEP-0050 §2.3); undefined when it is no command or `bare` is no administrator. */
  commandInfo(bare: string, node: string): Element | undefined;
}

/** The children of a completed <command/>: a note or a result form. */
type CommandOutput = Element[];

interface CommandDef {
  node: string;
  name: string;
  /** Empty: the command completes on `execute`. */
  fields: () => FieldSpec[];
  run: (ops: AdminOps, form: Map<string, string[]>) => Promise<CommandOutput | Fail>;
}

interface Session {
  node: string;
  /** Full JID: XEP-0050 §3.3 binds a session to the requester. */
  from: string;
  expires: number;
}

const SESSION_TTL_MS = 10 * 60_000;
const MAX_SESSIONS = 256;
const ACTIONS = ['execute', 'cancel', 'prev', 'next', 'complete'];

export function installCommands(router: Router, disco: Disco, accounts: AccountService, extra: CommandHooks = {}): AdHocCommands {
  const defs = new Map(commandDefs(extra).map((d) => [d.node, d]));
  const sessions = new Map<string, Session>();
  disco.addFeature(NS.COMMANDS);

  router.iq('set', NS.COMMANDS, 'command', async (req) => {
    const refusal = accounts.checkAdmin(req.bare, req.element.attrs.node);
    if (refusal) return fail('forbidden', refusal);
    const el = req.element;
    const def = defs.get(el.attrs.node ?? '');
    if (!def) return fail('item-not-found', `no command ${el.attrs.node ?? '(no node)'}`);
    const action = el.attrs.action ?? 'execute';
    if (!ACTIONS.includes(action)) return commandError('malformed-action', `unknown action ${action}`);
    const ops: AdminOps = accountOps(accounts, `admin:${req.bare}`);
    const sid = el.attrs.sessionid;
    if (!sid) {
      if (action !== 'execute') return commandError('bad-action', `start ${def.node} with action execute`);
      const fields = def.fields();
      if (fields.length === 0) return complete(def, randomUUID(), await def.run(ops, new Map()));
      const id = openSession(sessions, def.node, req.from);
      return command(def.node, id, 'executing', [
        xml('actions', { execute: 'complete' }, xml('complete')),
        buildForm('form', undefined, fields, { title: def.name }),
      ]);
    }
    const s = sessions.get(sid);
    if (!s || s.node !== def.node || s.from !== req.from || s.expires < Date.now()) {
      return commandError('bad-sessionid', 'unknown or expired session: execute the command again');
    }
    if (action === 'cancel') {
      sessions.delete(sid);
      return command(def.node, sid, 'canceled', []);
    }
    if (action === 'prev' || action === 'next') return commandError('bad-action', `${def.node} has a single stage: use complete`);
    const form = findForm(el);
    if (!form || form.type !== 'submit') return commandError('bad-payload', 'submit the form (jabber:x:data type submit)');
    const missing = def.fields().filter((f) => f.required && !(form.fields.get(f.var) ?? []).some((v) => v.trim()));
    if (missing.length) return fail('bad-request', `required: ${missing.map((f) => f.var).join(', ')}`);
    sessions.delete(sid);
    return complete(def, sid, await def.run(ops, form.fields));
  }, { exempt: true });

  const visible = (bare: string) => accounts.isAdmin(bare);
  return {
    commandItems(bare, controllerJid) {
      const items = visible(bare) ? [...defs.values()].map((d) => xml('item', { jid: controllerJid, node: d.node, name: d.name })) : [];
      return xml('query', { xmlns: NS.DISCO_ITEMS, node: NS.COMMANDS }, ...items);
    },
    commandInfo(bare, node) {
      const d = defs.get(node);
      if (!d || !visible(bare)) return undefined;
      return xml('query', { xmlns: NS.DISCO_INFO, node },
        xml('identity', { category: 'automation', type: 'command-node', name: d.name }),
        xml('feature', { var: NS.COMMANDS }),
        xml('feature', { var: NS.DATA }));
    },
  };
}

function openSession(sessions: Map<string, Session>, node: string, from: string): string {
  const now = Date.now();
  for (const [id, s] of sessions) if (s.expires < now) sessions.delete(id);
  // Forms abandoned by clients must not pile up: the oldest goes first (Map keeps insertion order).
  while (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
  const id = randomUUID();
  sessions.set(id, { node, from, expires: now + SESSION_TTL_MS });
  return id;
}

function complete(def: CommandDef, sid: string, out: CommandOutput | Fail): Element {
  if (isFail(out)) return command(def.node, sid, 'completed', [xml('note', { type: 'error' }, out.text ?? out.fail)]);
  return command(def.node, sid, 'completed', out);
}

function command(node: string, sessionid: string, status: 'executing' | 'completed' | 'canceled', children: Element[]): Element {
  return xml('command', { xmlns: NS.COMMANDS, node, sessionid, status }, ...children);
}

/** XEP-0050 §4.6: a stanza error with the commands namespace's own condition. */
function commandError(condition: 'malformed-action' | 'bad-action' | 'bad-payload' | 'bad-sessionid', text: string): Element {
  const e = errorElement(fail('bad-request', text));
  e.c(condition, { xmlns: NS.COMMANDS });
  return e;
}

// ---- the commands ----

const CMD = (name: string) => `${NS.GRID}#${name}`;
const jidField: FieldSpec = { var: 'jid', type: 'jid-single', label: 'Account JID', required: true };

function commandDefs(extra: CommandHooks): CommandDef[] {
  const groupsField = (label: string): FieldSpec => ({ var: 'groups', type: 'list-multi', label, options: extra.declaredGroups?.() ?? [] });
  const one = (form: Map<string, string[]>, v: string) => form.get(v)?.[0]?.trim() ?? '';
  const groups = (form: Map<string, string[]>) => (form.get('groups') ?? []).map((g) => g.trim()).filter(Boolean);
  const defs: CommandDef[] = [
    {
      node: CMD('accounts'), name: 'List accounts',
      fields: () => [{ var: 'status', type: 'list-single', label: 'Only accounts in this state (empty: all)', options: [...ACCOUNT_STATUSES] }],
      run: async (ops, f) => {
        const status = one(f, 'status');
        if (status && !ACCOUNT_STATUSES.includes(status as never)) return fail('bad-request', `status must be one of ${ACCOUNT_STATUSES.join(', ')}`);
        const r = await call(ops, 'accounts.list', status ? { status: status as (typeof ACCOUNT_STATUSES)[number] } : {});
        return isFail(r) ? r : [accountsResultForm(r.value)];
      },
    },
    {
      node: CMD('approve'), name: 'Approve an account',
      fields: () => [jidField, groupsField('Groups (none chosen: the requested groups the policy declares)')],
      run: async (ops, f) => {
        const g = groups(f);
        const r = await call(ops, 'accounts.approve', g.length ? { jid: one(f, 'jid'), groups: g } : { jid: one(f, 'jid') });
        return isFail(r) ? r : accountNote('approved', r.value);
      },
    },
    ...(['deny', 'revoke', 'remove'] as const).map((name): CommandDef => ({
      node: CMD(name), name: `${name[0]!.toUpperCase()}${name.slice(1)} an account`,
      fields: () => [jidField],
      run: async (ops, f) => {
        const r = await call(ops, `accounts.${name}`, { jid: one(f, 'jid') });
        if (isFail(r)) return r;
        return r.value ? accountNote(name === 'deny' ? 'denied' : 'revoked', r.value) : [xml('note', { type: 'info' }, `removed ${one(f, 'jid').toLowerCase()}`)];
      },
    })),
    {
      node: CMD('set-groups'), name: 'Set the groups of an account',
      fields: () => [jidField, groupsField('Groups (replace the current ones)')],
      run: async (ops, f) => {
        const r = await call(ops, 'accounts.set-groups', { jid: one(f, 'jid'), groups: groups(f) });
        return isFail(r) ? r : accountNote('groups set', r.value);
      },
    },
    {
      node: CMD('unsuspend'), name: 'Lift the suspension of an account',
      fields: () => [jidField],
      run: async (ops, f) => {
        const r = await call(ops, 'accounts.unsuspend', { jid: one(f, 'jid') });
        return isFail(r) ? r : accountNote('unsuspended', r.value);
      },
    },
  ];
  const hook = (node: string, name: string, fn?: () => Promise<string>): CommandDef[] =>
    fn ? [{ node: CMD(node), name, fields: () => [], run: async () => [xml('note', { type: 'info' }, await fn())] }] : [];
  return [...defs, ...hook('topics', 'List topics', extra.topics), ...hook('stats', 'Statistics', extra.stats), ...hook('reload-policy', 'Reload the policy', extra.reloadPolicy)];
}

/** Through the same argument checks as the admin socket, so both answer alike. */
async function call<K extends AdminOpName>(ops: AdminOps, op: K, args: AdminOpArgs[K]): Promise<Result<AdminOpResults[K]>> {
  const r = await runOp(ops, op, args);
  return r.ok ? ok(r.result as AdminOpResults[K]) : fail('bad-request', r.error.text);
}

function accountNote(what: string, a: Account): CommandOutput {
  return [xml('note', { type: 'info' }, `${what} ${a.jid}: ${a.status}; groups: ${a.groups.length ? a.groups.join(', ') : 'none'}`)];
}

const COLUMNS: [string, string, (a: ListedAccount) => string][] = [
  ['jid', 'JID', (a) => a.jid],
  ['status', 'Status', (a) => a.effective],
  ['groups', 'Groups', (a) => a.groups.join(', ')],
  ['device-type', 'Device type', (a) => a.deviceType ?? ''],
  ['issuer-o', 'Issuer O', (a) => a.cert.issuer.O ?? ''],
  ['not-after', 'Certificate not after', (a) => a.cert.notAfter],
  ['decided-by', 'Decided by', (a) => a.decidedBy],
];

/** XEP-0004 §3.4: a table as <reported/> plus one <item/> per account. */
function accountsResultForm(rows: ListedAccount[]): Element {
  return xml('x', { xmlns: NS.DATA, type: 'result' },
    xml('title', {}, `Accounts (${rows.length})`),
    xml('reported', {}, ...COLUMNS.map(([v, label]) => xml('field', { var: v, label }))),
    ...rows.map((a) => xml('item', {}, ...COLUMNS.map(([v, , get]) => xml('field', { var: v }, xml('value', {}, get(a)))))));
}
