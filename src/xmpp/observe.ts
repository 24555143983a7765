// What the link sees, told to the metrics: every stanza in and out by kind, and the time each
// IQ get/set takes to answer, by operation. Installed on the link before the router, so it
// times the whole handler; it never changes or holds back a stanza.
import type { Element } from '@xmpp/xml';
import type { Component } from '@xmpp/component';
import type { MiddlewareContext } from '@xmpp/xmpp-common';
import { stanzaKind, type MetricsSink } from '../metrics/sink.js';
import { NS } from './ns.js';

export function observeLink(xmpp: Component, sink: MetricsSink): void {
  xmpp.on('stanza', (el: Element) => sink.stanzaIn(stanzaKind(el.name, el.attrs.type)));
  xmpp.on('send', (el: Element) => sink.stanzaOut(stanzaKind(el.name, el.attrs.type)));
}

/** Middleware timing IQ get/set handling (put it in front of the router). */
export function iqTimer(sink: MetricsSink) {
  return async (ctx: MiddlewareContext, next: () => Promise<unknown>): Promise<unknown> => {
    if (ctx.stanza.name !== 'iq' || !ctx.element || (ctx.type !== 'get' && ctx.type !== 'set')) return next();
    const t0 = process.hrtime.bigint();
    try {
      return await next();
    } finally {
      sink.iqHandled(iqOperation(ctx.element), Number(process.hrtime.bigint() - t0) / 1e9);
    }
  };
}

/**
 * `pubsub#publish`, `pubsub#owner#configure`, `register#query`, `ping#ping`, …: the last
 * segment of the payload's namespace, and for XEP-0060 the action inside <pubsub/>. Values
 * come from the sender, so the metrics cap how many distinct ones they keep.
 */
export function iqOperation(el: Element): string {
  const ns = el.getNS() ?? '';
  const short = ns.slice(Math.max(ns.lastIndexOf('/'), ns.lastIndexOf(':')) + 1) || 'none';
  // XEP-0060 puts the action first (publish before publish-options, create before configure).
  if (ns === NS.PUBSUB || ns === NS.PUBSUB_OWNER) return `${short}#${el.getChildElements()[0]?.name ?? 'none'}`;
  return `${short}#${el.name}`;
}
