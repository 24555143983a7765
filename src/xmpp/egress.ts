// The one check every stanza passes on its way out (issue 16): the server closes the WHOLE
// component stream on a stanza above its limit (Prosody: component_stanza_size_limit) or
// from outside our domain, cutting every node off the grid. So nothing is written that
// would not fit `limits.stanza_bytes`: an IQ answer that is too large becomes a small error
// reply, any other stanza is dropped, logged at error and counted. Handlers page their
// answers with RSM so that this stays a safety net, not a way of answering.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import type { Logger } from '../log.js';
import { fail } from '../result.js';
import { errorElement } from './errors.js';

export class Egress {
  /** Stanzas not written because they would not fit (an IQ answer became an error). */
  oversized = 0;
  /** Stanzas dropped because their from was outside our domain (a bug if ever non-zero). */
  foreign = 0;

  constructor(
    private readonly domain: string,
    private readonly stanzaBytes: number,
    private readonly log: Logger,
  ) {}

  /**
   * Stamps our domain as `from` where none is set; false (and logged) when the stanza's
   * `from` is outside our domain and must not leave.
   */
  accept(el: Element): boolean {
    const from = el.attrs.from ?? this.domain;
    if (!isOurs(from, this.domain)) {
      this.foreign++;
      this.log.error({ from, to: el.attrs.to, name: el.name }, 'refusing to send a stanza from outside our domain');
      return false;
    }
    el.attrs.from = from;
    return true;
  }

  /**
   * The text to write for `el`, or null when nothing may be written. Over the limit, an IQ
   * result or error is replaced by a `modify` `<not-acceptable/>` error (RFC 6120 §8.3.3.12:
   * the request was understood but its answer does not meet the stream's criteria; asking
   * again with a smaller RSM `<max/>` can succeed, so not `wait`), which never echoes the
   * request. An IQ request of ours or a message or presence is dropped.
   */
  serialise(el: Element): string | null {
    if (!this.accept(el)) return null;
    const text = el.toString();
    // Cheap bound first: a UTF-8 byte is at most 3 per UTF-16 code unit.
    if (text.length * 3 <= this.stanzaBytes) return text;
    const bytes = Buffer.byteLength(text);
    if (bytes <= this.stanzaBytes) return text;
    this.oversized++;
    const { to, id, type } = el.attrs;
    const answer = el.name === 'iq' && (type === 'result' || type === 'error');
    this.log.error({ to, id, name: el.name, type, bytes, limit: this.stanzaBytes, oversized: this.oversized },
      answer ? 'answer exceeds limits.stanza_bytes: sent an error instead' : 'stanza exceeds limits.stanza_bytes: dropped');
    if (!answer) return null;
    return xml('iq', { type: 'error', from: el.attrs.from, ...(to ? { to } : {}), ...(id ? { id } : {}) },
      errorElement(fail('not-acceptable', `the answer (${bytes} bytes) exceeds the stream limit limits.stanza_bytes (${this.stanzaBytes}): ask for a smaller page (RSM <max/>)`))).toString();
  }
}

export function isOurs(jid: string, domain: string): boolean {
  const at = jid.indexOf('@');
  const rest = at === -1 ? jid : jid.slice(at + 1);
  const slash = rest.indexOf('/');
  return (slash === -1 ? rest : rest.slice(0, slash)).toLowerCase() === domain.toLowerCase();
}
