// Finding the XEP-0033 multicast service of a server host, per XEP-0033 §2.2: the host itself
// when its disco#info lists http://jabber.org/protocol/address (Prosody with
// mod_grid_multicast), else the first of its disco#items that does (ejabberd's mod_multicast
// at multicast.<domain>). Its address limit is read from the XEP-0128 form it may add to
// disco#info (FORM_TYPE http://jabber.org/protocol/address, field `message`, as ejabberd
// does); a service that offers none starts at UNADVERTISED_LIMIT and learns from refusals.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { findForm } from './forms.js';
import { NS } from './ns.js';

export const NS_ADDRESS = 'http://jabber.org/protocol/address';

/**
 * Addresses per message when the service does not say: ejabberd 23.01's default limit for a
 * remote sender (a component is one). More is refused whole with not-acceptable.
 */
export const UNADVERTISED_LIMIT = 20;

export interface DiscoInfo {
  features: string[];
  /** Addresses per message from the XEP-0128 form, when the service advertises a limit. */
  limit?: number;
}

/** The two disco queries discovery needs; both reject on an error or a timeout. */
export interface DiscoQueries {
  info(jid: string): Promise<DiscoInfo>;
  items(jid: string): Promise<string[]>;
}

export interface MulticastService {
  /** Where multicast messages go: the host itself or one of its items. */
  jid: string;
  /** Addresses per message this service accepts (advertised, or UNADVERTISED_LIMIT). */
  limit: number;
  advertised: boolean;
}

/** Reads a disco#info result. */
export function parseDiscoInfo(res: Element): DiscoInfo {
  const query = res.getChild('query', NS.DISCO_INFO);
  const features = (query?.getChildren('feature') ?? []).map((f) => String(f.attrs.var ?? ''));
  const value = Number(findForm(query, NS_ADDRESS)?.fields.get('message')?.[0]);
  return Number.isInteger(value) && value > 0 ? { features, limit: value } : { features };
}

/** Reads a disco#items result: the item JIDs, in order. */
export function parseDiscoItems(res: Element): string[] {
  return (res.getChild('query', NS.DISCO_ITEMS)?.getChildren('item') ?? []).map((i) => String(i.attrs.jid ?? '')).filter(Boolean);
}

/** Disco queries over a component link (anything with an IQ `request`). */
export function discoOver(link: { request(iq: Element): Promise<Element> }): DiscoQueries {
  return {
    info: async (jid) => parseDiscoInfo(await link.request(xml('iq', { type: 'get', to: jid }, xml('query', { xmlns: NS.DISCO_INFO })))),
    items: async (jid) => parseDiscoItems(await link.request(xml('iq', { type: 'get', to: jid }, xml('query', { xmlns: NS.DISCO_ITEMS })))),
  };
}

function serviceFrom(jid: string, info: DiscoInfo): MulticastService | undefined {
  if (!info.features.includes(NS_ADDRESS)) return undefined;
  return { jid, limit: info.limit ?? UNADVERTISED_LIMIT, advertised: info.limit !== undefined };
}

/**
 * The host's multicast service, or undefined when it offers none. An item that does not
 * answer is passed over; the host not answering rejects (the caller retries after a reconnect).
 */
export async function discoverMulticast(host: string, disco: DiscoQueries): Promise<MulticastService | undefined> {
  const own = serviceFrom(host, await disco.info(host));
  if (own) return own;
  const items = await disco.items(host).catch(() => [] as string[]);
  // Only services of this host: an item elsewhere would carry our subscribers' JIDs off the server.
  const candidates = items.filter((jid) => jid !== host && jid.endsWith(`.${host}`) && !jid.includes('@') && !jid.includes('/'));
  const infos = await Promise.all(candidates.map((jid) => disco.info(jid).then((i) => serviceFrom(jid, i), () => undefined)));
  return infos.find((s) => s !== undefined);
}
