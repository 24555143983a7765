// Hand-written declarations for @xmpp/* 0.13 (CommonJS, no bundled types). They cover what
// this project uses, checked against the 0.13 sources (ltx 3 Element, @xmpp/connection,
// @xmpp/iq, @xmpp/middleware). Import Element and xml from one place (@xmpp/xml or the
// re-export of @xmpp/component / @xmpp/client): it is the same class at runtime, and the IQ
// callee checks `instanceof` on it.
//
// Runtime import shapes (Node ESM importing CommonJS):
//   import { component, xml, jid } from '@xmpp/component';   // named exports are detected
//   import { client, xml, jid } from '@xmpp/client';
//   import xml from '@xmpp/xml';  // default only: its extras are added by Object.assign,
//                                 // which Node cannot see as named exports; use xml.Element.

declare module '@xmpp/xml' {
  import { EventEmitter } from 'node:events';

  namespace xml {
    type Node = Element | string;
    /** Attribute values are stringified by xml(); null/undefined attributes are dropped. */
    type AttrsIn = Record<string, string | number | boolean | null | undefined>;
    type Child = Node | number | boolean | null | undefined | Child[];

    class Element {
      constructor(name: string, attrs?: Record<string, string> | string);
      name: string;
      attrs: Record<string, string>;
      children: Node[];
      parent: Element | null;
      /** True when the name matches and, if given, the namespace (own or inherited). */
      is(name: string, xmlns?: string): boolean;
      getName(): string;
      getNS(): string | undefined;
      getAttr(name: string, xmlns?: string): string | undefined;
      getChild(name: string, xmlns?: string): Element | undefined;
      getChildren(name: string, xmlns?: string): Element[];
      getChildByAttr(attr: string, val: string, xmlns?: string | null, recursive?: boolean): Element | undefined;
      getChildrenByAttr(attr: string, val: string, xmlns?: string | null, recursive?: boolean): Element[];
      getChildrenByFilter(filter: (child: Node) => boolean, recursive?: boolean): Node[];
      /** Concatenated direct text children (not descendants). */
      getText(): string;
      /** Text of the first matching child, or null when there is no such child. */
      getChildText(name: string, xmlns?: string): string | null;
      getChildElements(): Element[];
      root(): Element;
      up(): Element;
      /** Creates, appends and returns a new child. */
      c(name: string, attrs?: Record<string, string>): Element;
      cnode<T extends Node>(child: T): T;
      /** Returns nothing (ltx 3), unlike c()/t(). */
      append(...nodes: Node[]): void;
      prepend(...nodes: Node[]): void;
      t(text: string): this;
      remove(el: Element | string, xmlns?: string): this;
      text(): string;
      text(val: string): this;
      attr(name: string): string | undefined;
      attr(name: string, val: string | null): this;
      clone(): Element;
      toString(): string;
      write(writer: (chunk: string) => void): void;
    }

    function createElement(name: string, attrs?: AttrsIn | null, ...children: Child[]): Element;

    /** Streaming parser: emits 'element', 'start', 'end', 'error'. */
    class Parser extends EventEmitter {
      constructor();
      write(data: string): void;
      end(data?: string): void;
    }

    class XMLError extends Error {}

    function escapeXML(s: string): string;
    function unescapeXML(s: string): string;
    function escapeXMLText(s: string): string;
    function unescapeXMLText(s: string): string;
  }

  function xml(name: string, attrs?: xml.AttrsIn | null, ...children: xml.Child[]): xml.Element;
  export = xml;
}

declare module '@xmpp/jid' {
  namespace jid {
    class JID {
      constructor(local: string | null | undefined, domain: string, resource?: string | null);
      local: string;
      domain: string;
      resource: string;
      toString(unescape?: boolean): string;
      bare(): JID;
      equals(other: JID): boolean;
      getLocal(unescape?: boolean): string;
      setLocal(local: string, escape?: boolean): void;
      getDomain(): string;
      setDomain(domain: string): void;
      getResource(): string;
      setResource(resource: string): void;
    }
    function parse(s: string): JID;
    function equal(a: JID, b: JID): boolean;
  }
  /** Parses "local@domain/resource", or builds from parts. Throws on an invalid JID. */
  function jid(address: string): jid.JID;
  function jid(local: string | null | undefined, domain: string, resource?: string | null): jid.JID;
  export = jid;
}

/** Shared shapes of @xmpp/client and @xmpp/component entities (not a real package). */
declare module '@xmpp/xmpp-common' {
  import type { EventEmitter } from 'node:events';
  import type { Element } from '@xmpp/xml';
  import type { JID } from '@xmpp/jid';

  export type Status =
    | 'offline' | 'connecting' | 'connect' | 'opening' | 'open' | 'online'
    | 'closing' | 'close' | 'disconnecting' | 'disconnect';

  /** Error of an <iq type='error'/> answer to iqCaller.request (from @xmpp/middleware). */
  export interface XmppStanzaError extends Error {
    name: 'StanzaError';
    condition: string;
    text: string;
    application?: Element;
    type?: string;
    element?: Element;
  }

  export interface IqCaller {
    /** Sends an iq get/set (id added when missing); resolves with the result iq, rejects with
     *  a StanzaError for type='error' or a TimeoutError after `timeout` ms (default 30 s). */
    request(stanza: Element, timeout?: number): Promise<Element>;
    /** Wraps `element` in an iq and resolves with the result's child of the same name/ns. */
    get(element: Element, to?: string, timeout?: number): Promise<Element | undefined>;
    set(element: Element, to?: string, timeout?: number): Promise<Element | undefined>;
  }

  export interface MiddlewareContext {
    stanza: Element;
    entity: unknown;
    name: string;
    id: string;
    type: string;
    from: JID | null;
    to: JID | null;
    local: string;
    domain: string;
    resource: string;
    /** The single child of an iq get/set (set by the IQ callee). */
    element?: Element;
  }

  /** Return an Element to answer with it (an <error/> makes an error reply), `true` for an
   *  empty result; undefined (like no handler) answers service-unavailable (iq/callee.js); a
   *  thrown error becomes internal-server-error. */
  export type IqHandler = (ctx: MiddlewareContext, next: () => Promise<unknown>) =>
    Element | true | undefined | void | Promise<Element | true | undefined | void>;

  export interface IqCallee {
    get(ns: string, name: string, handler: IqHandler): void;
    set(ns: string, name: string, handler: IqHandler): void;
  }

  export type Middleware = (ctx: MiddlewareContext, next: () => Promise<unknown>) => unknown;
  export interface MiddlewareApi {
    /** Incoming stanzas. */
    use(fn: Middleware): Middleware;
    /** Outgoing stanzas. */
    filter(fn: Middleware): Middleware;
  }

  export interface Reconnect extends EventEmitter {
    /** Milliseconds between a disconnect and the next attempt (default 1000). */
    delay: number;
    start(): void;
    stop(): void;
    reconnect(): Promise<void>;
  }

  export interface Entity extends EventEmitter {
    status: Status;
    jid: JID | null;
    timeout: number;
    options: { service?: string; domain?: string; lang?: string; [k: string]: unknown };
    socket: unknown;
    reconnect: Reconnect;
    middleware: MiddlewareApi;
    iqCaller: IqCaller;
    iqCallee: IqCallee;
    /** Connects, opens the stream and authenticates; resolves with the bound JID. */
    start(): Promise<JID>;
    /** Closes the stream and the socket (reconnect is stopped). */
    stop(): Promise<void>;
    disconnect(timeout?: number): Promise<void>;
    send(element: Element): Promise<void>;
    sendMany(elements: Element[]): Promise<void>;
    write(data: string): Promise<void>;

    on(event: 'stanza' | 'element' | 'nonza' | 'send', fn: (el: Element) => void): this;
    on(event: 'online', fn: (jid: JID) => void): this;
    on(event: 'offline', fn: (el?: Element) => void): this;
    on(event: 'error', fn: (err: Error & { condition?: string }) => void): this;
    on(event: 'status', fn: (status: Status, ...args: unknown[]) => void): this;
    on(event: 'input' | 'output', fn: (data: string) => void): this;
    on(event: string, fn: (...args: any[]) => void): this;
  }
}

declare module '@xmpp/component' {
  import xmlFn = require('@xmpp/xml');
  import jidFn = require('@xmpp/jid');
  import type { Entity } from '@xmpp/xmpp-common';

  export interface ComponentOptions {
    /** e.g. "xmpp://127.0.0.1:5347" */
    service: string;
    /** The component's JID, e.g. "controller.grid.test". */
    domain: string;
    password: string | ((auth: (password: string) => Promise<void>) => Promise<void>);
  }
  export interface Component extends Entity {}

  export function component(options: ComponentOptions): Component;
  export const xml: typeof xmlFn;
  export const jid: typeof jidFn;
}

declare module '@xmpp/client' {
  import xmlFn = require('@xmpp/xml');
  import jidFn = require('@xmpp/jid');
  import type { Element } from '@xmpp/xml';
  import type { Entity } from '@xmpp/xmpp-common';

  export interface ClientOptions {
    /** "xmpps://host:5223" (direct TLS), "xmpp://host:5222" (STARTTLS), ws(s):// */
    service?: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
    credentials?: unknown;
    lang?: string;
    timeout?: number;
  }

  /** A SASL mechanism in the saslmechanisms factory style. */
  export interface SaslMechanismClass {
    new (): { name: string; clientFirst: boolean; response(cred: Record<string, unknown>): string; challenge(chal: string): void };
    prototype: { name: string };
  }

  export interface Sasl {
    use(name: string, mechanism: SaslMechanismClass): unknown;
    use(mechanism: SaslMechanismClass): unknown;
  }

  export interface Client extends Entity {
    sasl: Sasl;
    streamFeatures: { use(name: string, xmlns: string, handler: (ctx: unknown, next: () => Promise<unknown>, feature: Element) => unknown): void };
    /** Overridable: builds net/tls connect() options for a service URL. */
    socketParameters(service: string): Record<string, unknown>;
    Socket?: unknown;
  }

  export function client(options?: ClientOptions): Client;
  export const xml: typeof xmlFn;
  export const jid: typeof jidFn;
}

// ---- Building blocks of @xmpp/client, for src/agent/connection.ts, which assembles a client
// with only SASL EXTERNAL (no password mechanism to fall back to) and its own STARTTLS that
// passes the client certificate. All are dependencies of @xmpp/client 0.13.

declare module '@xmpp/client-core' {
  import xmlFn = require('@xmpp/xml');
  import jidFn = require('@xmpp/jid');
  import type { JID } from '@xmpp/jid';
  import type { Entity } from '@xmpp/xmpp-common';
  export class Client {
    constructor(options: { service?: string; domain?: string; lang?: string; timeout?: number });
    transports: unknown[];
    /** Net/TLS connect options for a service URL; overridable per instance. */
    socketParameters(service: string): Record<string, unknown> | undefined;
    /** Replaces the transport socket (after STARTTLS). */
    _attachSocket(socket: unknown): void;
    /** Removes the connection's listeners from the socket and returns it. */
    _detachSocket(): unknown;
    _jid(jid: string): JID;
    _status(status: string, ...args: unknown[]): void;
    restart(): Promise<void>;
    /** The two halves of start(): open the socket, then the stream (which logs in). */
    connect(service: string | undefined): Promise<void>;
    open(options: { domain: string; lang?: string }): Promise<void>;
    sendReceive(element: xmlFn.Element, timeout?: number): Promise<xmlFn.Element>;
  }
  export interface Client extends Entity {}
  export const xml: typeof xmlFn;
  export const jid: typeof jidFn;
}

declare module '@xmpp/tcp' {
  function tcp(deps: { entity: unknown }): void;
  export = tcp;
}

declare module '@xmpp/tls' {
  function tls(deps: { entity: unknown }): void;
  export = tls;
}

declare module '@xmpp/tls/lib/Socket.js' {
  import { EventEmitter } from 'node:events';
  import type { ConnectionOptions } from 'node:tls';
  /** Wraps tls.connect(); emits 'connect' after the TLS handshake, 'data', 'error', 'close'. */
  class TlsSocket extends EventEmitter {
    connect(options: ConnectionOptions): void;
    socket?: import('node:tls').TLSSocket;
    end(): void;
    write(data: string, fn?: (err?: Error) => void): void;
  }
  export = TlsSocket;
}

declare module '@xmpp/middleware' {
  import type { MiddlewareApi } from '@xmpp/xmpp-common';
  function middleware(deps: { entity: unknown }): MiddlewareApi;
  export = middleware;
}

declare module '@xmpp/stream-features' {
  import type { Element } from '@xmpp/xml';
  import type { MiddlewareApi, MiddlewareContext } from '@xmpp/xmpp-common';
  namespace streamFeatures {
    type FeatureHandler = (ctx: MiddlewareContext, next: () => Promise<unknown>, feature: Element) => unknown;
    interface StreamFeatures {
      /** Handlers run in registration order; a handler that does not call next() ends the round. */
      use(name: string, xmlns: string, handler: FeatureHandler): unknown;
    }
  }
  function streamFeatures(deps: { middleware: MiddlewareApi }): streamFeatures.StreamFeatures;
  export = streamFeatures;
}

declare module '@xmpp/iq/caller.js' {
  import type { IqCaller, MiddlewareApi } from '@xmpp/xmpp-common';
  function iqCaller(deps: { entity: unknown; middleware: MiddlewareApi }): IqCaller;
  export = iqCaller;
}

declare module '@xmpp/iq/callee.js' {
  import type { IqCallee, MiddlewareApi } from '@xmpp/xmpp-common';
  function iqCallee(deps: { entity: unknown; middleware: MiddlewareApi }): IqCallee;
  export = iqCallee;
}

declare module '@xmpp/resource-binding' {
  import type { IqCaller } from '@xmpp/xmpp-common';
  import type { StreamFeatures } from '@xmpp/stream-features';
  function resourceBinding(deps: { iqCaller: IqCaller; streamFeatures: StreamFeatures }, resource?: string): void;
  export = resourceBinding;
}

declare module '@xmpp/session-establishment' {
  import type { IqCaller } from '@xmpp/xmpp-common';
  import type { StreamFeatures } from '@xmpp/stream-features';
  function sessionEstablishment(deps: { iqCaller: IqCaller; streamFeatures: StreamFeatures }): void;
  export = sessionEstablishment;
}

declare module '@xmpp/reconnect' {
  import type { Reconnect } from '@xmpp/xmpp-common';
  function reconnect(deps: { entity: unknown }): Reconnect;
  export = reconnect;
}
