// The web console: a route plugin for the HTTPS server (mounted at /admin by src/wiring-https.ts).
// A door: it imports the core, src/admin's read models and src/https — never src/xmpp or src/taxii.
export { consolePlugin } from './plugin.js';
export type { ConsoleDeps } from './views.js';
export { html, escapeHtml, Html } from './html.js';
