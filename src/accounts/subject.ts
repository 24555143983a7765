// Who an account is to the policy engine: the one place an Account becomes a PolicySubject.
import type { PolicySubject } from '../policy/types.js';
import type { Account } from './types.js';

export function subjectOfAccount(a: Account): PolicySubject {
  return { jid: a.jid, groups: a.groups, ...(a.deviceType ? { deviceType: a.deviceType } : {}), cert: { subject: a.cert.subject, issuer: a.cert.issuer } };
}
