// Public face of the identity module; other modules import from here.
export type * from './types.js';
export { createCa, createCrl, issueIntermediateCa, issueNodeCert, issueServerCert, nodeSpec, writeDevPki } from './devcerts.js';
export { describeCertificate, isExpired } from './certinfo.js';
export { createTrust, loadTrust, TrustError } from './trust.js';
export { verifyRegistration } from './verify.js';
export { decodeBase64, signChallenge, verifyChallengeSignature } from './pop.js';
