// The policy engine's public surface (PROTOCOL §4, §12). Import from here, not from the files.
export * from './types.js';
export { loadPolicyDir, loadPolicyDirWith, parsePolicyText, policyFileNames } from './load.js';
export { decide, explain, isAdmin } from './decide.js';
export { matchAutoApprove, autoApproveMismatch } from './approve.js';
export { PolicyWatcher, PolicyLoadError, formatPolicyError, type PolicyLogger } from './watch.js';
export { topicNameProblem, topicOfNode, MAX_TOPIC_LENGTH } from './glob.js';
export { findWidenings, isWider, reportWidening, type Widening, type WideningByRule } from './widen.js';
