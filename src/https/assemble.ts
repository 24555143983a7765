// Builds the HTTPS server from config `taxii:` for src/main.ts: null when no listen is set.
// Route plugins (the TAXII door, the admin console) are mounted by the caller, then listen().
import type { AccountService } from '../accounts/service.js';
import type { Config } from '../config/types.js';
import type { Trust } from '../identity/types.js';
import type { Logger } from '../log.js';
import { createHttps, type GridHttps } from './server.js';
import type { HttpsLimits } from './limits.js';

/** Request bodies above this are 413 before any route sees them (the TAXII POST sets its own, smaller, limit). */
export const HTTPS_BODY_LIMIT = 16 * 1024 * 1024;

export function httpsFromConfig(cfg: Config, d: { accounts: AccountService; trust: () => Trust; log: Logger; limits?: HttpsLimits }): GridHttps | null {
  const t = cfg.taxii;
  if (!t.listen) return null;
  return createHttps({
    listen: t.listen, certFile: t.cert, keyFile: t.key, basic: t.basic,
    bodyLimit: Math.max(HTTPS_BODY_LIMIT, cfg.limits.payload_bytes * 2), accounts: d.accounts, trust: d.trust, log: d.log,
    ...(d.limits ? { limits: d.limits } : {}),
  });
}

/** A route plugin's registration: called with the server before it listens. */
export type HttpsMount = (https: GridHttps) => void;

/**
 * Builds, mounts and starts the HTTPS server (null when `taxii.listen` is empty). main.ts calls
 * this once with every door's mount (TAXII, the console) and closes the result at stop.
 */
export async function startHttps(cfg: Config, d: { accounts: AccountService; trust: () => Trust; log: Logger; limits?: HttpsLimits }, mounts: HttpsMount[]): Promise<{ https: GridHttps; url: string } | null> {
  const https = httpsFromConfig(cfg, d);
  if (!https) return null;
  for (const m of mounts) m(https);
  try {
    const url = await https.listen();
    d.log.info({ url, public_url: cfg.taxii.public_url }, 'https server listening');
    return { https, url };
  } catch (err) {
    await https.close().catch(() => undefined);
    throw err;
  }
}
