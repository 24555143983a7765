// Raw-stanza helpers for integration tests: what a third-party client would send, built
// straight from docs/protocol.md (the agent library has its own, tested separately).
import { readFileSync } from 'node:fs';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import type { NodeConnection } from '../../src/agent/types.js';
import assert from 'node:assert/strict';
import { signChallenge } from '../../src/identity/pop.js';
import { StanzaError } from '../../src/agent/connection.js';

export const CTL = 'controller.grid.test';
export const NS_REG = 'jabber:iq:register';
export const NS_DATA = 'jabber:x:data';
export const NS_GRID = 'urn:xmpp-grid:0';
export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

let n = 0;
export const id = (p = 't') => `${p}${++n}`;

export async function getRegistration(c: NodeConnection): Promise<Element> {
  const r = await c.iq(xml('iq', { type: 'get', to: CTL, id: id('rg') }, xml('query', { xmlns: NS_REG })));
  return r.getChild('query', NS_REG)!;
}

export function challengeOf(query: Element): string {
  const x = query.getChild('x', NS_DATA)!;
  return x.getChildren('field').find((f) => f.attrs.var === 'challenge')!.getChildText('value')!;
}

export interface Submit {
  challenge: string;
  certPem: string;
  signature: string;
  groups?: string[];
  deviceType?: string;
  description?: string;
}

export function submitStanza(s: Submit): Element {
  const field = (v: string, values: string[]) => xml('field', { var: v }, ...values.map((x) => xml('value', {}, x)));
  return xml('iq', { type: 'set', to: CTL, id: id('rs') },
    xml('query', { xmlns: NS_REG },
      xml('x', { xmlns: NS_DATA, type: 'submit' },
        field('FORM_TYPE', ['urn:xmpp-grid:0#register']),
        field('challenge', [s.challenge]),
        field('certificate', s.certPem.trim().split('\n')),
        field('signature', [s.signature]),
        field('groups', s.groups ?? []),
        ...(s.deviceType ? [field('device-type', [s.deviceType])] : []),
        ...(s.description ? [field('description', [s.description])] : []))));
}

/** Full registration with the node's own certificate and key files. */
export async function register(c: NodeConnection, files: { cert: string; key: string }, extra: Partial<Submit> = {}): Promise<Element> {
  const challenge = challengeOf(await getRegistration(c));
  const keyPem = readFileSync(files.key, 'utf8');
  return c.iq(submitStanza({ challenge, certPem: readFileSync(files.cert, 'utf8'), signature: signChallenge(keyPem, challenge), ...extra }));
}

export function isAccountMessage(status: string) {
  return (s: Element) => s.name === 'message' && s.getChild('account', NS_GRID)?.attrs.status === status;
}

export function groupsOf(accountEl: Element): string[] {
  return accountEl.getChildren('group').map((g) => g.getText());
}

/** The StanzaError a request ends with; fails the test when it succeeds or fails otherwise. */
export async function refusal(p: Promise<unknown>): Promise<StanzaError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StanzaError) return e;
    throw e;
  }
  assert.fail('expected a stanza error');
}

/**
 * An administrator must hold an approved account proven by an xmppAddr certificate
 * (AccountService.isAdmin): register the admin node and approve it, as an operator would.
 */
export async function enrolAdmin(c: NodeConnection, files: { cert: string; key: string }, accounts: { approve(jid: string, by: string): Promise<unknown>; get(jid: string): { status: string } | undefined }, jid = 'admin@grid.test'): Promise<void> {
  await register(c, files);
  if (accounts.get(jid)?.status !== 'approved') await accounts.approve(jid, 'cli');
  assert.equal(accounts.get(jid)?.status, 'approved', `${jid} could not be approved`);
}

/** Runs the XEP-0050 command `urn:xmpp-grid:0#<name>` with one `jid` field; the completed answer's note. */
export async function runJidCommand(admin: NodeConnection, name: string, jid: string): Promise<string> {
  const COMMANDS = 'http://jabber.org/protocol/commands';
  const node = `${NS_GRID}#${name}`;
  const form = await admin.iq(xml('iq', { type: 'set', to: CTL, id: id('c') }, xml('command', { xmlns: COMMANDS, node, action: 'execute' })));
  const sessionid = form.getChild('command', COMMANDS)!.attrs.sessionid!;
  const done = await admin.iq(xml('iq', { type: 'set', to: CTL, id: id('c') }, xml('command', { xmlns: COMMANDS, node, sessionid, action: 'complete' },
    xml('x', { xmlns: NS_DATA, type: 'submit' }, xml('field', { var: 'jid' }, xml('value', {}, jid))))));
  return done.getChild('command', COMMANDS)!.getChildText('note') ?? '';
}
