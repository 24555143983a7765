// SASL EXTERNAL (RFC 4422 App. A, RFC 6120 §6.4.2): the TLS client certificate is the
// credential. @xmpp/client 0.13 has no such mechanism, and its SASL code encodes an empty
// response as an empty <auth/>, on which Prosody 0.12 fails and the client then hangs; the
// empty response must be "=". So this is a stream-feature handler of its own.
import xml from '@xmpp/xml';
import type { StreamFeatures } from '@xmpp/stream-features';
import type { Client } from '@xmpp/client-core';

export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

/** The server refused the login; `condition` is the RFC 6120 §6.5 SASL error. */
export class SaslFailure extends Error {
  override readonly name = 'SaslFailure';
  constructor(readonly condition: string, readonly text?: string) {
    super(`SASL EXTERNAL failed: ${condition}${text ? ` (${text})` : ''}`);
  }
}

/** The <auth/> body: base64 of the authzid, or "=" for none. */
export function externalInitialResponse(authzid?: string): string {
  return authzid ? Buffer.from(authzid, 'utf8').toString('base64') : '=';
}

function failureOf(el: { getChildElements(): { name: string; getText(): string }[] }): SaslFailure {
  const children = el.getChildElements();
  const condition = children.find((c) => c.name !== 'text')?.name ?? 'not-authorized';
  const text = children.find((c) => c.name === 'text')?.getText();
  return new SaslFailure(condition, text);
}

/** Registers EXTERNAL as the only way this client authenticates (no password fallback). */
export function useSaslExternal(streamFeatures: StreamFeatures, authzid?: string): void {
  streamFeatures.use('mechanisms', NS_SASL, async ({ entity }, _next, feature) => {
    const client = entity as Client;
    const offered = feature.getChildren('mechanism').map((m) => m.getText().trim());
    if (!offered.includes('EXTERNAL')) {
      throw new SaslFailure('invalid-mechanism',
        `server offers ${offered.join(', ') || 'no mechanism'}; EXTERNAL needs TLS with a client certificate the server asked for`);
    }
    const auth = xml('auth', { xmlns: NS_SASL, mechanism: 'EXTERNAL' }, externalInitialResponse(authzid));
    const reply = await client.sendReceive(auth);
    if (!reply.is('success', NS_SASL)) {
      // A challenge is not part of EXTERNAL: treat it, like a failure, as a refusal.
      throw reply.is('failure', NS_SASL) ? failureOf(reply) : new SaslFailure('malformed-request', `unexpected <${reply.name}/>`);
    }
    await client.restart();
  });
}
