// STARTTLS (RFC 6120 §5) that presents the client certificate. @xmpp/starttls 0.13 upgrades
// with { host } only: no CA, no certificate, so it cannot do certificate login.
import { Socket as NetSocket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import xml from '@xmpp/xml';
import TlsSocket from '@xmpp/tls/lib/Socket.js';
import type { StreamFeatures } from '@xmpp/stream-features';
import type { Client } from '@xmpp/client-core';

const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';

function upgrade(socket: NetSocket, tlsOptions: ConnectionOptions): Promise<TlsSocket> {
  return new Promise((resolve, reject) => {
    const tlsSocket = new TlsSocket();
    tlsSocket.once('connect', () => { tlsSocket.off('error', reject); resolve(tlsSocket); });
    tlsSocket.once('error', reject);
    tlsSocket.connect({ ...tlsOptions, socket });
  });
}

export function useStartTls(streamFeatures: StreamFeatures, tlsOptions: ConnectionOptions): void {
  streamFeatures.use('starttls', NS_TLS, async ({ entity }, next) => {
    const client = entity as Client;
    const socket = client.socket;
    // Already TLS (direct TLS, or upgraded): nothing to do.
    if (!(socket instanceof NetSocket) || 'encrypted' in socket) return next();
    const answer = await client.sendReceive(xml('starttls', { xmlns: NS_TLS }));
    if (!answer.is('proceed', NS_TLS)) throw new Error(`STARTTLS refused by the server (<${answer.name}/>)`);
    // The TLS socket now owns the TCP socket; its close must not be reported twice.
    client._detachSocket();
    let tlsSocket: TlsSocket;
    try {
      tlsSocket = await upgrade(socket, tlsOptions);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    client._attachSocket(tlsSocket);
    await client.restart();
  });
}
