// Typed errors of the grid client: every failure a caller may branch on carries the stanza
// error's condition and app condition, and a message a person can act on (PROTOCOL §1, §4).
import { StanzaError } from './stanza-error.js';
import { NodeConnectError } from './connection.js';
import { isControllerDownBounce } from './server-bounce.js';

/** `unavailable`: the XMPP server answered for the controller, which is not connected (try again later). */
export type GridErrorKind = 'stanza' | 'unavailable' | 'connection' | 'timeout' | 'protocol' | 'usage';

/** What the client was doing, to explain refusals that carry no text. */
export interface GridOperation {
  operation: string;
  topic?: string;
}

export class GridError extends Error {
  override readonly name = 'GridError';
  constructor(
    readonly kind: GridErrorKind,
    /** RFC 6120 defined condition (e.g. `not-allowed`), or a client-side code (`timeout`). */
    readonly condition: string,
    message: string,
    readonly details: { type?: string; appCondition?: string; text?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
  }
  get type(): string | undefined { return this.details.type; }
  get appCondition(): string | undefined { return this.details.appCondition; }
  get text(): string | undefined { return this.details.text; }
}

/** A reason for a refusal without `<text/>`, from the condition tables of PROTOCOL §1 and §4. */
function explain(condition: string, app: string | undefined, op: GridOperation | undefined): string {
  const what = op ? `${op.operation}${op.topic ? ` on ${op.topic}` : ''}` : 'this operation';
  switch (app ?? condition) {
    case 'registration-required': return 'this node has no account: run `grid-node register` first';
    case 'account-pending': return 'the account waits for approval by an administrator';
    case 'account-revoked': return 'the account was denied or revoked by an administrator';
    case 'closed-node': return `policy does not allow ${what}`;
    case 'item-not-found': return op?.topic ? `no topic ${op.topic} (or the policy hides it from this node)` : 'not found';
    case 'forbidden': return `policy does not allow ${what}`;
    case 'invalid-options': return 'the filter has an unknown, empty or malformed field';
    case 'invalid-payload': return 'the payload does not fit the topic\'s content type';
    case 'payload-too-big': return 'the payload is over the grid\'s size limit';
    default: return `the controller refused ${what}`;
  }
}

/** Wraps whatever an operation threw into a GridError (GridErrors pass through). */
export function toGridError(err: unknown, op?: GridOperation): GridError {
  if (err instanceof GridError) return err;
  if (err instanceof StanzaError && isControllerDownBounce(err)) {
    // The raw reason as the server gave it; grid-node's hint (cli/hints.ts) says what it means.
    const app = err.appCondition?.name;
    return new GridError('unavailable', err.condition, `the controller is not connected to the XMPP server: try again later (${err.condition}${app ? ` + ${app}` : ''}: ${err.text?.trim() ?? ''})`,
      { type: err.type, text: err.text, cause: err });
  }
  if (err instanceof StanzaError) {
    const app = err.appCondition?.name;
    const head = `${err.condition}${app ? ` + ${app}` : ''}`;
    const text = err.text?.trim() || undefined;
    return new GridError('stanza', err.condition, `${head}: ${text ?? explain(err.condition, app, op)}`,
      { type: err.type, ...(app ? { appCondition: app } : {}), ...(text ? { text } : {}), cause: err });
  }
  if (err instanceof NodeConnectError) {
    return new GridError('connection', err.failure, err.message, { cause: err });
  }
  const e = err as Error & { name?: string };
  if (e?.name === 'TimeoutError' || /timeout|within \d+ ms/i.test(e?.message ?? '')) {
    return new GridError('timeout', 'timeout', `no answer${op ? ` to ${op.operation}` : ''}: ${e.message}`, { cause: err });
  }
  return new GridError('protocol', 'internal', e?.message ?? String(err), { cause: err });
}

export const usageError = (message: string): GridError => new GridError('usage', 'bad-request', message);
export const protocolError = (message: string): GridError => new GridError('protocol', 'unexpected-reply', message);
