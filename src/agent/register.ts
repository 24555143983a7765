// Registration (PROTOCOL §2, XEP-0077 with a data form): fetch the form and its challenge,
// sign the challenge with the certificate's key (proof of possession), submit.
import { createPrivateKey, sign } from 'node:crypto';
import xml from '@xmpp/xml';
import type { Element } from '@xmpp/xml';
import type { AccountState, AccountStatus, RegisterOptions } from './grid-types.js';
import { buildForm, findForm, first, type FormField } from './forms.js';
import { FORM, NS } from './ns.js';
import { protocolError } from './errors.js';

const STATUSES = new Set<string>(['pending', 'approved', 'denied', 'revoked', 'removed']);

/**
 * Base64 signature of the exact UTF-8 challenge: RSA PKCS#1 v1.5 SHA-256, or ECDSA P-256
 * SHA-256 as a DER ECDSA-Sig-Value — node:crypto picks the scheme from the key type.
 */
export function signChallenge(keyPem: string, challenge: string): string {
  const key = createPrivateKey(keyPem);
  return sign('sha256', Buffer.from(challenge, 'utf8'), { key, dsaEncoding: 'der' }).toString('base64');
}

export function registrationGet(to: string): Element {
  return xml('iq', { type: 'get', to }, xml('query', { xmlns: NS.REGISTER }));
}

/** `<account status><group/>…</account>` → state; undefined when the status is unknown. */
export function parseAccount(el: Element | undefined): { status: AccountStatus; groups: string[] } | undefined {
  const status = el?.attrs.status;
  if (!el || !status || !STATUSES.has(status)) return undefined;
  return { status: status as AccountStatus, groups: el.getChildren('group').map((g) => g.getText().trim()).filter(Boolean) };
}

export interface RegistrationInfo {
  challenge: string;
  account: AccountState;
}

/** Reads the registration `get` answer: the challenge and, for a registered JID, its state. */
export function parseRegistration(result: Element): RegistrationInfo {
  const query = result.getChild('query', NS.REGISTER);
  if (!query) throw protocolError('the registration answer holds no <query xmlns="jabber:iq:register"/>');
  const challenge = first(findForm(query, FORM.REGISTER), 'challenge');
  if (!challenge) throw protocolError(`the registration form (${FORM.REGISTER}) carries no challenge`);
  const account = parseAccount(query.getChild('account', NS.GRID));
  const registered = !!query.getChild('registered');
  return { challenge, account: { registered: registered || !!account, ...(account ?? { groups: [] }) } };
}

export interface Submission extends RegisterOptions {
  challenge: string;
  /** PEM of the certificate, leaf first; chain certificates may follow. */
  certPem: string;
  signature: string;
}

export function registrationSubmit(to: string, s: Submission): Element {
  const fields: FormField[] = [
    { var: 'challenge', values: [s.challenge] },
    { var: 'certificate', values: s.certPem.split(/\r?\n/).map((l) => l.trim()).filter(Boolean) },
    { var: 'signature', values: [s.signature] },
  ];
  if (s.groups?.length) fields.push({ var: 'groups', values: s.groups });
  if (s.deviceType) fields.push({ var: 'device-type', values: [s.deviceType] });
  if (s.description) fields.push({ var: 'description', values: [s.description] });
  return xml('iq', { type: 'set', to }, xml('query', { xmlns: NS.REGISTER }, buildForm('submit', FORM.REGISTER, fields)));
}

export function registrationRemove(to: string): Element {
  return xml('iq', { type: 'set', to }, xml('query', { xmlns: NS.REGISTER }, xml('remove')));
}
