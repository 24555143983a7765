// Stanza errors (RFC 6120 §8.3) as a typed Error, so callers branch on condition and app
// condition instead of parsing XML.
import type { Element } from '@xmpp/xml';
import type { AppCondition, StanzaErrorType } from './types.js';

const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const TYPES = new Set<string>(['auth', 'cancel', 'continue', 'modify', 'wait']);

export class StanzaError extends Error {
  override readonly name = 'StanzaError';
  constructor(
    readonly type: StanzaErrorType,
    readonly condition: string,
    readonly appCondition?: AppCondition,
    readonly text?: string,
    /** The whole error stanza (iq/message/presence), when known. */
    readonly stanza?: Element,
  ) {
    super(`${type} ${condition}${appCondition ? ` + ${appCondition.name}` : ''}${text ? `: ${text}` : ''}`);
  }
}

/**
 * Reads a stanza of type='error' or a bare <error/> element. Returns undefined when there is
 * no <error/> child. A malformed error (no defined condition) reads as `undefined-condition`
 * so callers always get a condition to branch on.
 */
export function parseStanzaError(el: Element): StanzaError | undefined {
  const error = el.name === 'error' ? el : el.getChild('error');
  if (!error) return undefined;
  const stanza = el.name === 'error' ? undefined : el;
  const type = (TYPES.has(error.attrs.type ?? '') ? error.attrs.type : 'cancel') as StanzaErrorType;
  let condition: string | undefined;
  let text: string | undefined;
  let app: AppCondition | undefined;
  for (const child of error.getChildElements()) {
    const ns = child.getNS();
    if (ns === NS_STANZAS && child.name === 'text') text = child.getText();
    else if (ns === NS_STANZAS) condition ??= child.name;
    else app ??= { name: child.name, xmlns: ns ?? '', element: child };
  }
  return new StanzaError(type, condition ?? 'undefined-condition', app, text, stanza);
}
