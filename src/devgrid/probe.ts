// Readiness probes that tell our server from anything else on a port: a free port picked
// earlier can be taken by another process before the server binds it (Prosody then logs an
// error and keeps running without that listener), so "the port accepts TCP" is not enough.
import { X509Certificate } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { ServerPorts } from './types.js';

const PROBE_TIMEOUT_MS = 2000;

function streamHeader(to: string, ns: string): string {
  return `<?xml version='1.0'?><stream:stream to='${to}' xmlns='${ns}' ` +
    `xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;
}

/** True when the port answers an XMPP stream header with one of its own. */
export function probeXmppStream(port: number, to: string, ns: 'jabber:client' | 'jabber:component:accept'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ port, host: '127.0.0.1' });
    let seen = '';
    const done = (ok: boolean) => { clearTimeout(timer); socket.destroy(); resolve(ok); };
    const timer = setTimeout(() => done(false), PROBE_TIMEOUT_MS);
    socket.once('connect', () => socket.write(streamHeader(to, ns)));
    socket.on('data', (d) => {
      seen += d.toString('utf8');
      if (/<stream:stream[\s>]/.test(seen)) done(true);
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/** True when the port completes a TLS handshake presenting exactly `certFile`. */
export function probeTlsCert(port: number, servername: string, certFile: string): Promise<boolean> {
  const expected = new X509Certificate(readFileSync(certFile)).fingerprint256;
  return new Promise((resolve) => {
    // Identity is checked by fingerprint below, so chain validation is not needed here.
    const socket = tlsConnect({ port, host: '127.0.0.1', servername, rejectUnauthorized: false });
    const done = (ok: boolean) => { clearTimeout(timer); socket.destroy(); resolve(ok); };
    const timer = setTimeout(() => done(false), PROBE_TIMEOUT_MS);
    socket.once('secureConnect', () => done(socket.getPeerCertificate().fingerprint256 === expected));
    socket.once('error', () => done(false));
  });
}

/**
 * Every port is the server's own: it speaks XMPP (and TLS with our certificate). A probe that
 * fails is tried again up to `attempts` times in all (a loaded machine can make a server that
 * has just bound its ports slow to answer).
 */
export async function confirmListeners(c: { ports: ServerPorts; domain: string; componentJid: string; certFile: string }, server: string, attempts = 1): Promise<void> {
  const probes: [string, () => Promise<boolean>][] = [
    [`c2s ${c.ports.c2s}`, () => probeXmppStream(c.ports.c2s, c.domain, 'jabber:client')],
    [`c2s direct TLS ${c.ports.c2sTls}`, () => probeTlsCert(c.ports.c2sTls, c.domain, c.certFile)],
    [`component ${c.ports.component}`, () => probeXmppStream(c.ports.component, c.componentJid, 'jabber:component:accept')],
  ];
  for (let i = 1; probes.length; i++) {
    const ok = await Promise.all(probes.map(([, probe]) => probe()));
    for (let j = ok.length - 1; j >= 0; j--) if (ok[j]) probes.splice(j, 1);
    if (probes.length && i >= attempts) {
      throw new Error(`not ${server}'s listener on port(s): ${probes.map(([name]) => name).join(', ')} (another process holds them?)`);
    }
  }
}

/** The first "Failed to open server port" line Prosody logged, if any. */
export function portFailureInLog(logText: string): string | undefined {
  return logText.split('\n').find((l) => /Failed to open server port/.test(l))?.trim();
}

/** Why ejabberd could not start, from its log, if it says: a port in use, or its critical line. */
export function ejabberdFailureInLog(logText: string): string | undefined {
  const inUse = /\{(\d+),\{127,0,0,1\},tcp\},\s*eaddrinuse/.exec(logText);
  if (inUse) return `ejabberd could not listen on 127.0.0.1:${inUse[1]} (eaddrinuse)`;
  return logText.split('\n').find((l) => /\[critical\]/.test(l))?.trim();
}
