// Vocabulary of a grid node's XMPP connection. This folder is meant to become a standalone
// client library: it imports only @xmpp/* and node built-ins.
import type { Element } from '@xmpp/xml';
import type { Client } from '@xmpp/client-core';

export interface ConnectNodeOptions {
  /** `xmpps://host:port` (direct TLS, preferred) or `xmpp://host:port` (STARTTLS). */
  service: string;
  /** XMPP domain; also the TLS server name the server certificate must match. */
  domain: string;
  /** Client certificate and key, as files or as PEM text (the text wins). */
  certFile?: string;
  keyFile?: string;
  cert?: string;
  key?: string;
  /** CA PEM(s) trusted for the server certificate; default: Node's built-in CAs. */
  ca?: string | string[];
  /** Resource to bind; default for connectNode: the server picks one (GridClient picks `grid-node-<random>`). */
  resource?: string;
  /** SASL authorization identity; default none (sent as "=", the RFC 6120 empty response). */
  authzid?: string;
  /** Send initial presence once online (default true): the server delivers messages to the
   *  bare JID only to resources that are available. */
  presence?: boolean;
  /** Deadline for TLS + SASL + bind, ms. Default 10 000. */
  timeoutMs?: number;
}

export type StanzaErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

export interface AppCondition {
  name: string;
  xmlns: string;
  element: Element;
}

/** Why connectNode failed: where in the login it stopped. */
export type ConnectFailure = 'connect' | 'tls' | 'sasl' | 'timeout' | 'stream';

export interface NodeConnection {
  /** Full JID bound by the server. */
  jid: string;
  /** The underlying @xmpp client entity (escape hatch). */
  xmpp: Client;
  /** Sends an iq get/set; resolves with the result iq, rejects with StanzaError. */
  iq(el: Element, timeoutMs?: number): Promise<Element>;
  send(el: Element): Promise<void>;
  on(event: 'stanza', fn: (stanza: Element) => void): void;
  on(event: 'offline' | 'error' | 'status', fn: (...args: any[]) => void): void;
  /** First incoming stanza (since connect) matching the predicate; each stanza is handed
   *  out once. Rejects after timeoutMs (default 10 000). */
  waitFor(predicate: (stanza: Element) => boolean, timeoutMs?: number): Promise<Element>;
  close(): Promise<void>;
}
