// The XMPP door assembled: the router with the approval gate, disco, ping, registration, the
// component link, the outgoing queue, XEP-0033 multicast (with its disco probe of the server)
// and the handling of bounced messages. main.ts calls this; the protocol handlers and the
// broadcast are installed by protocol.ts.
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { AccountService } from '../accounts/service.js';
import type { MetricsSink } from '../metrics/sink.js';
import { ComponentLink } from './component.js';
import { Router } from './router.js';
import { Disco, installPing, limitsForm } from './handlers/disco.js';
import { installRegister } from './handlers/register.js';
import { NS } from './ns.js';
import { Outbox } from './outbox.js';
import { Multicast } from './multicast.js';
import { discoOver } from './multicast-discovery.js';
import { setAnswerBudget } from './xmlnode.js';

export interface XmppDoor {
  router: Router;
  disco: Disco;
  link: ComponentLink;
  outbox: Outbox;
  multicast: Multicast;
}

export function buildXmppDoor(cfg: Config, accounts: AccountService, metrics: MetricsSink, log: Logger): XmppDoor {
  setAnswerBudget(cfg.limits.stanza_bytes);
  const router = new Router(log.child({ mod: 'router' }));
  router.setGate((bare) => accounts.gate(bare));
  const disco = new Disco();
  disco.install(router, (bare) => accounts.gate(bare));
  installPing(router, disco);
  disco.addInfoForm(() => limitsForm(cfg.limits));
  installRegister(router, disco, accounts);
  disco.addFeature(NS.GRID);

  const link = new ComponentLink(
    { service: cfg.xmpp.service, domain: cfg.xmpp.domain, secret: cfg.xmpp.secret, reconnectMaxMs: cfg.xmpp.reconnect_max_ms, log: log.child({ mod: 'link' }), stanzaBytes: cfg.limits.stanza_bytes, metrics },
    router,
  );
  const outbox = new Outbox(link, log.child({ mod: 'outbox' }), metrics);
  const multicast = new Multicast({
    mode: cfg.xmpp.multicast, stanzaBytes: cfg.limits.stanza_bytes, log: log.child({ mod: 'multicast' }),
    disco: discoOver(link),
  });
  // The server may have been reconfigured while the link was down: ask it again.
  link.on('online', () => multicast.reset());
  installBounces(router, outbox, multicast, log);
  return { router, disco, link, outbox, multicast };
}

/**
 * PROTOCOL §5: a bounced notification (certificate logins have no offline store) never ends
 * the subscription; it is counted and logged, and the node catches up with after_seq. A
 * multicast refused by the server is sent again as it asks (multicast.onError).
 */
function installBounces(router: Router, outbox: Outbox, multicast: Multicast, log: Logger): void {
  router.onMessage((st, from) => {
    if (st.attrs.type !== 'error') return;
    const resend = multicast.onError(st);
    if (resend) {
      void outbox.send(resend);
      return;
    }
    outbox.bounced++;
    const condition = st.getChild('error')?.getChildElements()[0]?.name;
    log.info({ to: from, id: st.attrs.id, condition, bounced: outbox.bounced }, 'message bounced; subscription kept (the node catches up with after_seq)');
  });
}
