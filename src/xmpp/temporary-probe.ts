// XEP-0060 §12.4 temporary subscriptions end on the resource's unavailable presence. While the
// component link is down that presence is lost (the server drops it, or bounces it to nobody),
// so a grid-node process that went away meanwhile would keep its subscription forever. After
// every (re)connect the controller therefore asks each full JID that holds a temporary
// subscription whether it is still there, and ends the subscriptions of those that are not.
//
// The question is a XEP-0199 ping to the full JID. A presence probe cannot answer it: RFC 6121
// §4.3 probes go to the bare JID and are answered only to a contact with a presence
// subscription (Prosody answers `unsubscribed`, checked). What the servers answer for a full
// JID with no session (checked on both, see test/integration/temporary-probe.test.ts):
//   Prosody:  <error type='cancel'><service-unavailable/></error>
//   ejabberd: <error type='cancel'><service-unavailable/><text>User session not found</text></error>
// A live grid-node answers the ping with a result (src/agent/connection.ts). A live client that
// implements no ping answers service-unavailable too (RFC 6120 §8.4), which cannot be told from
// the server's answer: such a client loses its temporary subscription after an outage and has to
// subscribe again, which is what the subscription's lifetime promised anyway (no session seen).
// No answer (timeout) or any other error keeps the subscription: only a clear "gone" ends it.
import { xml } from '@xmpp/component';
import type { Logger } from '../log.js';
import { audit } from '../log.js';
import type { TopicService } from '../topics/service.js';
import type { ComponentLink } from './component.js';
import { NS } from './ns.js';

/** The stanza error conditions that say the full JID has no session (RFC 6120 §8.3.3). */
const GONE = new Set(['service-unavailable', 'item-not-found', 'recipient-unavailable']);

export interface ProbeOutcome {
  /** Full JIDs asked. */
  probed: number;
  /** Full JIDs found gone, whose temporary subscriptions were ended. */
  gone: string[];
  /** Subscriptions ended. */
  ended: number;
}

export interface TemporaryProbeDeps {
  link: Pick<ComponentLink, 'request' | 'on'>;
  topics: Pick<TopicService, 'allTopics' | 'subscriptionsOf' | 'endTemporary'>;
  domain: string;
  log: Logger;
  /** Per ping; default 10 s. */
  timeoutMs?: number;
  /** Pings in flight at once; default 16. */
  concurrency?: number;
}

export class TemporaryProbe {
  private last: Promise<ProbeOutcome> = Promise.resolve({ probed: 0, gone: [], ended: 0 });

  constructor(private readonly d: TemporaryProbeDeps) {
    d.link.on('online', () => {
      this.last = this.run().catch((err: unknown) => {
        d.log.error({ err }, 'probe of temporary subscriptions failed');
        return { probed: 0, gone: [], ended: 0 };
      });
    });
  }

  /** The outcome of the latest probe (started at the latest (re)connect). */
  settled(): Promise<ProbeOutcome> {
    return this.last;
  }

  /** Pings every full JID holding a temporary subscription; ends the subscriptions of the gone. */
  async run(): Promise<ProbeOutcome> {
    const jids = this.holders();
    const gone: string[] = [];
    let ended = 0;
    const queue = [...jids];
    const worker = async () => {
      for (let jid = queue.shift(); jid !== undefined; jid = queue.shift()) {
        const condition = await this.ping(jid);
        if (condition === null) continue;
        gone.push(jid);
        audit(this.d.log, 'temporary-subscription-gone', { jid, condition, reason: 'no session after a component-link outage (XEP-0199 ping)' });
        ended += await this.d.topics.endTemporary(jid);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.d.concurrency ?? 16, jids.length) }, worker));
    if (jids.length) this.d.log.info({ probed: jids.length, gone: gone.length, ended }, 'temporary subscriptions probed after connect');
    return { probed: jids.length, gone, ended };
  }

  private holders(): string[] {
    const out = new Set<string>();
    for (const t of this.d.topics.allTopics()) {
      for (const s of this.d.topics.subscriptionsOf(t.name)) if (s.expire === 'presence' && s.jid.includes('/')) out.add(s.jid);
    }
    return [...out];
  }

  /** null when `jid` answered (or could not be asked); else the error condition that says gone. */
  private async ping(jid: string): Promise<string | null> {
    try {
      await this.d.link.request(xml('iq', { type: 'get', to: jid, from: this.d.domain }, xml('ping', { xmlns: NS.PING })), this.d.timeoutMs ?? 10_000);
      return null;
    } catch (err) {
      const condition = (err as { condition?: unknown }).condition;
      if (typeof condition === 'string' && GONE.has(condition)) return condition;
      this.d.log.info({ jid, err: { message: (err as Error).message, condition } }, 'temporary subscription kept: the probe got no clear answer');
      return null;
    }
  }
}
