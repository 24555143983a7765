// The HTTPS server with every route plugin that mounts on it (PROTOCOL §13): the one call
// src/main.ts makes. Add a door or the console here, not in main.ts (src/https itself imports
// no door).
import type { AccountService } from './accounts/service.js';
import type { Config } from './config/types.js';
import type { Trust } from './identity/types.js';
import type { Logger } from './log.js';
import type { ItemService } from './topics/items.js';
import type { TopicService } from './topics/service.js';
import { startHttps, HttpsStartError, type GridHttps } from './https/index.js';

export interface DoorDeps {
  accounts: AccountService;
  topics: TopicService;
  items: ItemService;
  trust: () => Trust;
  log: Logger;
}

/** Throws HttpsStartError (one line naming the key) when the certificate, key or port is unusable. */
export async function startDoorsHttps(cfg: Config, d: DoorDeps): Promise<{ https: GridHttps; url: string } | null> {
  return startHttps(cfg, d, []);
}

export { HttpsStartError };
