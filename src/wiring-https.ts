// The HTTPS server with every route plugin that mounts on it (PROTOCOL §13): the one call
// src/main.ts makes. Add a door or the console here, not in main.ts (src/https itself imports
// no door).
import type { AccountService } from './accounts/service.js';
import type { Config } from './config/types.js';
import type { Trust } from './identity/types.js';
import type { Logger } from './log.js';
import type { ItemService } from './topics/items.js';
import type { TopicService } from './topics/service.js';
import { startHttps, HttpsStartError, type GridHttps, type HttpsMount } from './https/index.js';
import { consolePlugin, type ConsoleDeps } from './console/index.js';

export interface DoorDeps {
  accounts: AccountService;
  topics: TopicService;
  items: ItemService;
  trust: () => Trust;
  log: Logger;
  /** What the web console reads besides the services above; absent: no console under /admin/. */
  console?: Pick<ConsoleDeps, 'itemStore' | 'seen' | 'status' | 'audit'>;
}

/** Throws HttpsStartError (one line naming the key) when the certificate, key or port is unusable. */
export async function startDoorsHttps(cfg: Config, d: DoorDeps): Promise<{ https: GridHttps; url: string } | null> {
  const mounts: HttpsMount[] = [];
  if (d.console) {
    const c = { ...d.console, accounts: d.accounts, topics: d.topics, log: d.log, ...(cfg.taxii.public_url ? { publicUrl: cfg.taxii.public_url } : {}) };
    mounts.push((h) => h.mount(consolePlugin(c), '/admin'));
  }
  return startHttps(cfg, d, mounts);
}

export { HttpsStartError };
