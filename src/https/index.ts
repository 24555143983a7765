// Public face of the HTTPS server: doors and the console import from here.
export { createHttps, HttpsStartError, WWW_AUTHENTICATE, type GridHttps, type HttpsOptions } from './server.js';
export { subjectOf, type Identity } from './identity.js';
export { httpsFromConfig, startHttps, HTTPS_BODY_LIMIT, type HttpsMount } from './assemble.js';
export { addressKey, httpsCost, retryAfterS, type HttpsLimits, type HttpsLimiter } from './limits.js';
