// The vocabulary the core uses to say "no": a code and a reason a person can act on.
// The core never sees a stanza; src/xmpp/errors.ts maps each code to its stanza error.

export type ErrorCode =
  // PROTOCOL §1: the approval gate
  | 'registration-required' | 'account-pending' | 'account-revoked' | 'account-suspended'
  // per-account limits (README "Rate limits"): a rate exceeded, a queue full
  | 'rate-limited' | 'queue-full'
  // §2: registration
  | 'challenge-invalid' | 'bad-certificate' | 'untrusted' | 'identity-mismatch' | 'bad-signature'
  // §4: authorization, without leaking what a node may not see
  | 'item-not-found' | 'closed-node' | 'forbidden'
  // §5 and XEP-0060
  | 'invalid-payload' | 'payload-too-big' | 'invalid-options' | 'bad-request' | 'conflict'
  | 'not-subscribed' | 'subid-required' | 'invalid-subid' | 'invalid-jid' | 'nodeid-required'
  | 'item-required' | 'item-forbidden' | 'payload-required' | 'precondition-not-met' | 'not-acceptable' | 'not-allowed'
  | 'feature-not-implemented' | 'service-unavailable' | 'internal';

export interface Fail {
  readonly fail: ErrorCode;
  readonly text?: string;
  /** For feature-not-implemented: the pubsub feature (XEP-0060 <unsupported feature='…'/>). */
  readonly feature?: string;
  /** The submitted field at fault (a filter field, a declared filter field), when one is. */
  readonly field?: string;
}

export type Result<T> = { ok: true; value: T } | Fail;

export function fail(code: ErrorCode, text?: string, feature?: string): Fail {
  return { fail: code, ...(text ? { text } : {}), ...(feature ? { feature } : {}) };
}

/** A refusal that names the field at fault (the text names it too, for people). */
export function failField(code: ErrorCode, field: string, text: string): Fail {
  return { fail: code, text, field };
}

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function isFail(x: unknown): x is Fail {
  return typeof x === 'object' && x !== null && typeof (x as Fail).fail === 'string';
}
