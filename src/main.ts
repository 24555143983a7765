// Wiring only: config → stores → services → xmpp → start.
import type { Config } from './config/types.js';
import { requireSecret } from './config/load.js';
import type { Logger } from './log.js';
import { ComponentLink } from './xmpp/component.js';
import { Router } from './xmpp/router.js';
import { Disco, installPing } from './xmpp/handlers/disco.js';
import { NS } from './xmpp/ns.js';

export interface RunningController {
  readonly link: ComponentLink;
  readonly disco: Disco;
  stop(): Promise<void>;
}

export async function startController(cfg: Config, log: Logger): Promise<RunningController> {
  requireSecret(cfg);
  const router = new Router(log.child({ mod: 'router' }));
  const disco = new Disco();
  disco.install(router, () => null);
  installPing(router, disco);
  disco.addFeature(NS.GRID);

  const link = new ComponentLink(
    { service: cfg.xmpp.service, domain: cfg.xmpp.domain, secret: cfg.xmpp.secret, reconnectMaxMs: cfg.xmpp.reconnect_max_ms, log: log.child({ mod: 'link' }) },
    router,
  );
  await link.start();

  let stopped = false;
  return {
    link,
    disco,
    async stop() {
      if (stopped) return;
      stopped = true;
      await link.stop();
      log.info('controller stopped');
    },
  };
}
