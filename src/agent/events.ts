// Incoming messages from the controller → typed events (PROTOCOL §2, §5; XEP-0060 §7, §8;
// XEP-0131 headers). Only messages from the controller count: anyone on the server can
// send a node a message that looks like a pubsub event.
import type { Element } from '@xmpp/xml';
import type { GridEvent, ItemEvent } from './grid-types.js';
import { NS } from './ns.js';
import { findForm } from './forms.js';
import { FORM } from './ns.js';
import { filterOfFields } from './filters.js';
import { parseAccount } from './register.js';
import { readPayload } from './payloads.js';

const bare = (jid: string | undefined): string => (jid ?? '').split('/')[0]!.toLowerCase();

/** XEP-0131 headers of a stanza by name (first value wins). */
export function shimHeaders(stanza: Element): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of stanza.getChild('headers', NS.SHIM)?.getChildren('header') ?? []) {
    const name = h.attrs.name;
    if (name && !out.has(name)) out.set(name, h.getText().trim());
  }
  return out;
}

function seqOf(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

function itemEvents(items: Element, headers: Map<string, string>): GridEvent[] {
  const topic = items.attrs.node ?? '';
  const subid = headers.get('SubID');
  const seq = seqOf(headers.get('Grid-Seq'));
  const published = headers.get('Grid-Published');
  const out: GridEvent[] = [];
  for (const child of items.getChildElements()) {
    if (child.name === 'item') {
      const ev: ItemEvent = { kind: 'item', topic, id: child.attrs.id ?? '', payload: readPayload(child) };
      if (child.attrs.publisher) ev.publisher = child.attrs.publisher;
      if (seq !== undefined) ev.seq = seq;
      if (published) ev.published = published;
      if (subid) ev.subid = subid;
      out.push(ev);
    } else if (child.name === 'retract') {
      out.push({ kind: 'retract', topic, id: child.attrs.id ?? '', ...(subid ? { subid } : {}) });
    }
  }
  return out;
}

function pubsubEvents(event: Element, headers: Map<string, string>): GridEvent[] {
  const out: GridEvent[] = [];
  for (const child of event.getChildElements()) {
    const topic = child.attrs.node ?? '';
    if (child.name === 'items') out.push(...itemEvents(child, headers));
    else if (child.name === 'subscription' && child.attrs.subscription === 'none') {
      out.push({ kind: 'subscription-ended', topic,
        ...(child.attrs.jid ? { jid: child.attrs.jid } : {}), ...(child.attrs.subid ? { subid: child.attrs.subid } : {}) });
    } else if (child.name === 'purge' || child.name === 'delete') out.push({ kind: child.name, topic });
  }
  return out;
}

function subtopicEvent(el: Element): GridEvent | undefined {
  const action = el.attrs.action;
  if ((action !== 'created' && action !== 'deleted') || !el.attrs.node) return undefined;
  const form = findForm(el, FORM.FILTER);
  return { kind: 'subtopic', action, node: el.attrs.node, parent: el.attrs.parent ?? el.attrs.node.split('~')[0]!,
    ...(form ? { filter: filterOfFields(form.fields) } : {}) };
}

/** The events a stanza carries; [] for anything else (including stanzas not from `controller`). */
export function parseEvents(stanza: Element, controller: string): GridEvent[] {
  if (stanza.name !== 'message' || stanza.attrs.type === 'error') return [];
  if (bare(stanza.attrs.from) !== controller.toLowerCase()) return [];
  const out: GridEvent[] = [];
  const event = stanza.getChild('event', NS.PUBSUB_EVENT);
  if (event) out.push(...pubsubEvents(event, shimHeaders(stanza)));
  const account = parseAccount(stanza.getChild('account', NS.GRID));
  if (account) out.push({ kind: 'account', ...account });
  const subtopic = stanza.getChild('subtopic', NS.GRID);
  const st = subtopic && subtopicEvent(subtopic);
  if (st) out.push(st);
  return out;
}
