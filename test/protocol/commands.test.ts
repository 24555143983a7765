// XEP-0050 ad-hoc commands for administrators (PROTOCOL §1, §10): stanza in → stanza out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { Router } from '../../src/xmpp/router.js';
import { Disco } from '../../src/xmpp/handlers/disco.js';
import { installCommands, type CommandHooks } from '../../src/xmpp/handlers/commands.js';
import { silentLogger } from '../../src/log.js';
import { account, adminAccount, makeService, seededState } from '../unit/admin-fixtures.js';
import type { Account } from '../../src/accounts/types.js';

const CMD = 'http://jabber.org/protocol/commands';
const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const ADMIN = 'admin@grid.test/laptop';
const CONTROLLER = 'controller.grid.test';

function setup(hooks: CommandHooks = { declaredGroups: () => ['partners', 'soc'] }, admin: Account | null = adminAccount()) {
  const router = new Router(silentLogger());
  const disco = new Disco();
  const ctx = makeService(seededState(account('node1@grid.test', 'pending'), account('node2@grid.test', 'approved'), ...(admin ? [admin] : [])));
  router.setGate((bare) => ctx.service.gate(bare));
  disco.install(router, (bare) => ctx.service.gate(bare));
  const commands = installCommands(router, disco, ctx.service, hooks);
  const send = async (from: string, attrs: Record<string, string>, ...children: Element[]) => {
    const st = xml('iq', { type: 'set', id: 'c1', from, to: CONTROLLER }, xml('command', { xmlns: CMD, ...attrs }, ...children));
    return element(await router.dispatchIq('set', st, st.getChildElements()[0]!));
  };
  return { router, disco, commands, send, ...ctx };
}

/** Every command stage answers with an element (a <command/> or an <error/>), never an empty result. */
function element(r: Element | true): Element {
  assert.notEqual(r, true, 'expected an element, got an empty result');
  return r as Element;
}

function submit(fields: Record<string, string[]>): Element {
  return xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, ...Object.entries(fields).map(([v, vals]) => xml('field', { var: v }, ...vals.map((x) => xml('value', {}, x)))));
}

function note(r: Element | undefined): [string | undefined, string | undefined] {
  const n = r?.getChild('note');
  return [n?.attrs.type, n?.getText()];
}

test('approve: execute → form → complete → the account is approved by the administrator', async () => {
  const { send, store, changes } = setup();
  // The administrator's own account (approved, xmppAddr) is what lets it in, with its name in the policy.
  const form = await send(ADMIN, { node: 'urn:xmpp-grid:0#approve', action: 'execute' });
  assert.equal(form?.name, 'command');
  assert.equal(form?.attrs.status, 'executing');
  const sid = form?.attrs.sessionid;
  assert.ok(sid);
  assert.ok(form?.getChild('actions')?.getChild('complete'));
  const x = form?.getChild('x', 'jabber:x:data');
  assert.equal(x?.attrs.type, 'form');
  const jid = x?.getChildByAttr('var', 'jid');
  assert.equal(jid?.attrs.type, 'jid-single');
  assert.ok(jid?.getChild('required'));
  const groups = x?.getChildByAttr('var', 'groups');
  assert.equal(groups?.attrs.type, 'list-multi');
  assert.deepEqual(groups?.getChildren('option').map((o) => o.getChildText('value')), ['partners', 'soc']);

  const done = await send(ADMIN, { node: 'urn:xmpp-grid:0#approve', sessionid: sid!, action: 'complete' }, submit({ jid: ['node1@grid.test'], groups: ['partners'] }));
  assert.equal(done?.attrs.status, 'completed');
  assert.equal(done?.attrs.sessionid, sid);
  assert.deepEqual(note(done), ['info', 'approved node1@grid.test: approved; groups: partners']);
  const a = store.data.accounts['node1@grid.test']!;
  assert.deepEqual([a.status, a.groups, a.decidedBy], ['approved', ['partners'], 'admin:admin@grid.test']);
  assert.deepEqual(changes.map((c) => [c.jid, c.status, c.by]), [['node1@grid.test', 'approved', 'admin:admin@grid.test']]);

  // The session is used up.
  const again = await send(ADMIN, { node: 'urn:xmpp-grid:0#approve', sessionid: sid!, action: 'complete' }, submit({ jid: ['node1@grid.test'] }));
  assert.equal(again?.name, 'error');
  assert.ok(again?.getChild('bad-sessionid', CMD));
});

test('non-administrators are forbidden at every stage, even holding an approved account', async () => {
  const { send, store } = setup();
  const stolen = (await send(ADMIN, { node: 'urn:xmpp-grid:0#revoke' }))?.attrs.sessionid;
  const stages: Record<string, string>[] = [{ node: 'urn:xmpp-grid:0#revoke', action: 'execute' }, { node: 'urn:xmpp-grid:0#revoke', sessionid: stolen!, action: 'complete' }];
  for (const attrs of stages) {
    const r = await send('node2@grid.test/fw', attrs, submit({ jid: ['node2@grid.test'] }));
    assert.equal(r?.name, 'error');
    assert.equal(r?.attrs.type, 'auth');
    assert.ok(r?.getChild('forbidden', STANZAS));
  }
  assert.equal(store.data.accounts['node2@grid.test']!.status, 'approved');
});

test('named in the policy is not enough: no account, a pending one, or one registered without xmppAddr is forbidden', async () => {
  const cases: [string, Account | null, RegExp][] = [
    ['no account', null, /holds no approved account/],
    ['pending', adminAccount({ status: 'pending' }), /holds no approved account/],
    ['no xmppAddr proof', { ...adminAccount(), cert: { ...adminAccount().cert, xmppAddr: false } }, /not registered with an xmppAddr certificate/],
  ];
  for (const [what, admin, text] of cases) {
    const { send, commands } = setup(undefined, admin);
    const r = await send(ADMIN, { node: 'urn:xmpp-grid:0#accounts', action: 'execute' });
    assert.equal(r?.name, 'error', what);
    assert.equal(r?.attrs.type, 'auth', what);
    assert.ok(r?.getChild('forbidden', STANZAS), what);
    assert.match(r?.getChildText('text', STANZAS) ?? '', text, what);
    assert.equal(commands.commandItems('admin@grid.test', CONTROLLER).getChildren('item').length, 0, `${what}: no commands listed`);
  }
});

test('the command list is empty for non-administrators and full for administrators', () => {
  const { commands } = setup({ stats: async () => 'ok' });
  assert.deepEqual(commands.commandItems('node2@grid.test', CONTROLLER).getChildren('item'), []);
  const q = commands.commandItems('Admin@grid.test', CONTROLLER);
  assert.equal(q.attrs.node, CMD);
  assert.equal(q.getNS(), 'http://jabber.org/protocol/disco#items');
  assert.deepEqual(q.getChildren('item').map((i) => [i.attrs.jid, i.attrs.node]), [
    [CONTROLLER, 'urn:xmpp-grid:0#accounts'], [CONTROLLER, 'urn:xmpp-grid:0#approve'], [CONTROLLER, 'urn:xmpp-grid:0#deny'],
    [CONTROLLER, 'urn:xmpp-grid:0#revoke'], [CONTROLLER, 'urn:xmpp-grid:0#remove'], [CONTROLLER, 'urn:xmpp-grid:0#set-groups'], [CONTROLLER, 'urn:xmpp-grid:0#unsuspend'],
    [CONTROLLER, 'urn:xmpp-grid:0#stats'],
  ]);
  assert.equal(commands.commandInfo('node2@grid.test', 'urn:xmpp-grid:0#approve'), undefined);
  assert.equal(commands.commandInfo('admin@grid.test', 'urn:xmpp-grid:0#approve')?.getChild('identity')?.attrs.type, 'command-node');
});

test('disco#info advertises the commands feature', async () => {
  const { router } = setup();
  const st = xml('iq', { type: 'get', id: 'i1', from: 'x@grid.test/r', to: CONTROLLER }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }));
  const r = element(await router.dispatchIq('get', st, st.getChildElements()[0]!));
  assert.ok(r.getChildren('feature').some((f) => f.attrs.var === CMD));
});

test('accounts: a result table with reported fields and one item per account', async () => {
  const { send } = setup();
  const sid = (await send(ADMIN, { node: 'urn:xmpp-grid:0#accounts' }))?.attrs.sessionid;
  const r = await send(ADMIN, { node: 'urn:xmpp-grid:0#accounts', sessionid: sid! }, submit({ status: ['pending'] }));
  assert.equal(r?.attrs.status, 'completed');
  const x = r?.getChild('x', 'jabber:x:data');
  assert.equal(x?.attrs.type, 'result');
  assert.deepEqual(x?.getChild('reported')?.getChildren('field').map((f) => f.attrs.var), ['jid', 'status', 'groups', 'device-type', 'issuer-o', 'not-after', 'decided-by']);
  const rows = x?.getChildren('item').map((i) => i.getChildren('field').map((f) => f.getChildText('value')));
  assert.deepEqual(rows, [['node1@grid.test', 'pending', '', 'siem', 'Grid Dev CA', '2099-01-01T00:00:00.000Z', 'registration']]);
});

test('failures: unknown account, undeclared group and bad JID end with an error note', async () => {
  const { send, store } = setup();
  const cases: [string, Record<string, string[]>, string][] = [
    ['deny', { jid: ['ghost@grid.test'] }, 'no account ghost@grid.test'],
    ['approve', { jid: ['node1@grid.test'], groups: ['root'] }, 'groups not declared in the policy: root'],
    ['remove', { jid: ['not a jid'] }, 'accounts.remove: jid must be a JID like node1@grid.test'],
  ];
  for (const [name, fields, text] of cases) {
    const node = `urn:xmpp-grid:0#${name}`;
    const sid = (await send(ADMIN, { node }))?.attrs.sessionid;
    const r = await send(ADMIN, { node, sessionid: sid!, action: 'complete' }, submit(fields));
    assert.equal(r?.attrs.status, 'completed', name);
    assert.deepEqual(note(r), ['error', text]);
  }
  assert.equal(store.data.accounts['node1@grid.test']!.status, 'pending');
});

test('session rules: bound to the full JID, cancel ends it, a missing field keeps it', async () => {
  const { send, store } = setup();
  const node = 'urn:xmpp-grid:0#deny';
  const sid = (await send(ADMIN, { node }))?.attrs.sessionid!;
  const other = await send('admin@grid.test/phone', { node, sessionid: sid, action: 'complete' }, submit({ jid: ['node1@grid.test'] }));
  assert.ok(other?.getChild('bad-sessionid', CMD));
  const missing = await send(ADMIN, { node, sessionid: sid, action: 'complete' }, submit({ jid: [' '] }));
  assert.equal(missing?.attrs.type, 'modify');
  assert.equal(missing?.getChildText('text', STANZAS), 'required: jid');
  const noForm = await send(ADMIN, { node, sessionid: sid, action: 'complete' });
  assert.ok(noForm?.getChild('bad-payload', CMD));
  const next = await send(ADMIN, { node, sessionid: sid, action: 'next' }, submit({ jid: ['node1@grid.test'] }));
  assert.ok(next?.getChild('bad-action', CMD));
  const weird = await send(ADMIN, { node, sessionid: sid, action: 'jump' });
  assert.ok(weird?.getChild('malformed-action', CMD));
  const cancel = await send(ADMIN, { node, sessionid: sid, action: 'cancel' });
  assert.equal(cancel?.attrs.status, 'canceled');
  const late = await send(ADMIN, { node, sessionid: sid, action: 'complete' }, submit({ jid: ['node1@grid.test'] }));
  assert.ok(late?.getChild('bad-sessionid', CMD));
  assert.equal(store.data.accounts['node1@grid.test']!.status, 'pending');
});

test('hooks complete at once; commands without their hook do not exist', async () => {
  let reloaded = 0;
  const { send } = setup({ reloadPolicy: async () => `policy reloaded (${++reloaded})` });
  const r = await send(ADMIN, { node: 'urn:xmpp-grid:0#reload-policy' });
  assert.equal(r?.attrs.status, 'completed');
  assert.deepEqual(note(r), ['info', 'policy reloaded (1)']);
  const topics = await send(ADMIN, { node: 'urn:xmpp-grid:0#topics' });
  assert.equal(topics?.attrs.type, 'cancel');
  assert.ok(topics?.getChild('item-not-found', STANZAS));
});

test('set-groups and remove through commands', async () => {
  const { send, store } = setup();
  const run = async (name: string, fields: Record<string, string[]>) => {
    const node = `urn:xmpp-grid:0#${name}`;
    const sid = (await send(ADMIN, { node }))?.attrs.sessionid!;
    return send(ADMIN, { node, sessionid: sid, action: 'complete' }, submit(fields));
  };
  assert.deepEqual(note(await run('set-groups', { jid: ['node2@grid.test'], groups: ['soc', 'partners'] })), ['info', 'groups set node2@grid.test: approved; groups: partners, soc']);
  assert.deepEqual(store.data.accounts['node2@grid.test']!.groups, ['partners', 'soc']);
  assert.deepEqual(note(await run('remove', { jid: ['node2@grid.test'] })), ['info', 'removed node2@grid.test']);
  assert.equal(store.data.accounts['node2@grid.test'], undefined);
});
