// XEP-0077 registration with the PROTOCOL §2 form, and the §2 account messages.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import type { AccountService } from '../../accounts/service.js';
import type { Account, AccountChange } from '../../accounts/types.js';
import { fail, isFail } from '../../result.js';
import { buildForm, findForm } from '../forms.js';
import { NS } from '../ns.js';
import { FORM_TYPES } from '../form-types.js';
import type { Router } from '../router.js';
import type { Disco } from './disco.js';

/** Characters a registration's certificate field may hold (PEM of a leaf and its chain). */
export const MAX_CERTIFICATE_CHARS = 65536;

const INSTRUCTIONS =
  'Sign the challenge with your certificate key (RSA PKCS#1 v1.5 SHA-256, or ECDSA P-256 SHA-256 DER), ' +
  'base64 it into "signature", put your certificate PEM (leaf first) into "certificate" and submit.';

export function installRegister(router: Router, disco: Disco, accounts: AccountService): void {
  disco.addFeature(NS.REGISTER);
  router.iq('get', NS.REGISTER, 'query', async (req) => {
    // Stored before it is handed out: the submit may reach another instance of a cluster (§14).
    const challenge = await accounts.challengeStored(req.bare);
    const account = accounts.get(req.bare);
    const form = buildForm('form', FORM_TYPES.register, [
      { var: 'challenge', type: 'hidden', values: [challenge] },
      { var: 'certificate', type: 'text-multi', label: 'Certificate (PEM, leaf first)', required: true },
      { var: 'signature', type: 'text-single', label: 'Signature of the challenge (base64)', required: true },
      { var: 'groups', type: 'list-multi', label: 'Groups requested' },
      { var: 'device-type', type: 'text-single', label: 'Device type (firewall, siem, ids, sandbox, tip, …)' },
      { var: 'description', type: 'text-single', label: 'Description' },
    ], { title: 'Join the grid', instructions: INSTRUCTIONS });
    return xml(
      'query',
      { xmlns: NS.REGISTER },
      xml('instructions', {}, INSTRUCTIONS),
      account ? xml('registered') : null,
      form,
      account ? accountElement(account.jid, accounts.effectiveStatus(account), account.groups) : null,
    );
  }, { exempt: true });

  router.iq('set', NS.REGISTER, 'query', async (req) => {
    if (req.element.getChild('remove')) {
      const r = await accounts.remove(req.bare, req.bare);
      return isFail(r) ? fail('registration-required') : true;
    }
    const form = findForm(req.element, FORM_TYPES.register);
    if (!form || form.type !== 'submit') return fail('bad-request', `submit the ${FORM_TYPES.register} form`);
    // A chain of a few certificates is a few KB: anything far larger is refused before the
    // certificate code parses it (a 1 MB field costs tens of ms of PEM and ASN.1 work).
    const certificatePem = (form.fields.get('certificate') ?? []).join('\n');
    if (certificatePem.length > MAX_CERTIFICATE_CHARS) {
      return fail('bad-certificate', `the certificate field holds ${certificatePem.length} characters; at most ${MAX_CERTIFICATE_CHARS} (the leaf and its chain as PEM)`);
    }
    const one = (v: string) => form.fields.get(v)?.join('\n').trim() ?? '';
    const groups = (form.fields.get('groups') ?? []).flatMap((g) => g.split(',')).map((g) => g.trim()).filter(Boolean);
    const r = await accounts.register(req.bare, {
      challenge: one('challenge'),
      certificatePem,
      signature: one('signature'),
      groups,
      deviceType: one('device-type') || undefined,
      description: one('description') || undefined,
    });
    return isFail(r) ? r : true;
  }, { exempt: true });
}

export function accountElement(_jid: string, status: string, groups: string[]): Element {
  return xml('account', { xmlns: NS.GRID, status }, ...groups.map((g) => xml('group', {}, g)));
}

let seq = 0;
/** §2: every change of an account's state or groups is told to the node's bare JID. */
export function accountMessage(from: string, change: AccountChange): Element {
  return xml('message', { id: `acct-${Date.now().toString(36)}-${++seq}`, from, to: change.jid }, accountElement(change.jid, change.status, change.groups));
}

/** To administrators when the controller itself changed an account (a CRL, an expiry). */
export function systemDecisionMessage(from: string, admin: string, c: AccountChange): Element {
  return xml('message', { id: `sys-${Date.now().toString(36)}-${++seq}`, from, to: admin, type: 'normal' },
    xml('body', {}, `Account ${c.jid} is now ${c.status} (${c.by}): ${c.reason}.`));
}

/** To administrators when an account waits for approval. */
export function pendingMessage(from: string, admin: string, a: Account): Element {
  const who = `${a.jid} (${a.deviceType ?? 'no device type'}; subject ${Object.entries(a.cert.subject).map(([k, v]) => `${k}=${v}`).join(', ')}; issuer ${a.cert.issuer.O ?? a.cert.issuer.CN ?? '?'})`;
  return xml('message', { id: `pend-${Date.now().toString(36)}-${++seq}`, from, to: admin, type: 'normal' },
    xml('body', {}, `Account ${who} waits for approval; requested groups: ${a.requestedGroups.join(', ') || 'none'}. ` +
      `Approve with: grid-controller accounts approve ${a.jid}`));
}
