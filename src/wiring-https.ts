// The HTTPS server with every route plugin that mounts on it (PROTOCOL §13): the one call
// src/main.ts makes. Add a door or the console here, not in main.ts (src/https itself imports
// no door).
import type { AccountService } from './accounts/service.js';
import type { Config } from './config/types.js';
import type { Trust } from './identity/types.js';
import type { Logger } from './log.js';
import type { ItemStore } from './store/types.js';
import type { BulkGrants } from './topics/bulk.js';
import { subjectOf } from './https/index.js';
import type { ItemService } from './topics/items.js';
import type { TopicService } from './topics/service.js';
import { startHttps, HttpsStartError, type GridHttps, type HttpsLimiter, type HttpsMount } from './https/index.js';
import { sendFail } from './taxii/errors.js';
import { mountTaxii, type TaxiiDoor } from './taxii/door.js';
import { consolePlugin, type ConsoleDeps } from './console/index.js';

export interface DoorDeps {
  accounts: AccountService;
  topics: TopicService;
  items: ItemService;
  itemStore: ItemStore;
  bulk: BulkGrants;
  trust: () => Trust;
  log: Logger;
  /** The accounts' rate limiter (wiring-limits.ts): HTTPS requests take from the same buckets. */
  limiter?: HttpsLimiter;
  /** What the web console reads besides the services above; absent: no console under /admin/. */
  console?: Pick<ConsoleDeps, 'itemStore' | 'seen' | 'status' | 'audit'>;
}

export interface RunningHttps {
  https: GridHttps;
  /** The bound address, https://host:port. */
  url: string;
  taxii: TaxiiDoor;
  close(): Promise<void>;
}

/** Throws HttpsStartError (one line naming the key) when the certificate, key or port is unusable. */
export async function startDoorsHttps(cfg: Config, d: DoorDeps): Promise<RunningHttps | null> {
  let taxii: TaxiiDoor | undefined;
  let bound = '';
  const mounts: HttpsMount[] = [
    (h) => {
      taxii = mountTaxii(h, {
        domain: cfg.xmpp.domain, publicUrl: () => cfg.taxii.public_url || bound, apiRoot: cfg.taxii.api_root,
        pageDefault: cfg.taxii.page_default, pageMax: cfg.taxii.page_max,
        topics: d.topics, items: d.items, itemStore: d.itemStore, payloadLimit: () => cfg.limits.payload_bytes,
        filterCaps: { values: cfg.limits.filter_values, bytes: cfg.limits.filter_bytes }, dataDir: cfg.data, log: d.log.child({ door: 'taxii' }),
        bulk: d.bulk, subjectOf: (jid) => subjectOf(d.accounts, jid),
      });
    },
  ];
  if (d.console) {
    const c = { ...d.console, accounts: d.accounts, topics: d.topics, log: d.log, ...(cfg.taxii.public_url ? { publicUrl: cfg.taxii.public_url } : {}) };
    mounts.push((h) => h.mount(consolePlugin(c), '/admin'));
  }
  // A refusal is a TAXII error message (429 Too Many Requests) on every path, the console's too.
  const limits = d.limiter ? { limiter: d.limiter, refuse: sendFail } : undefined;
  const started = await startHttps(cfg, { ...d, ...(limits ? { limits } : {}) }, mounts);
  if (!started) return null;
  bound = started.url;
  const door = taxii!;
  return {
    ...started, taxii: door,
    async close() {
      door.close();
      await started.https.close();
    },
  };
}

export { HttpsStartError };
