// Public face of filtering: parse, canonicalise/hash, match, cut. Pure (no XMPP).
export type * from './types.js';
export { parseFilter, filterSizeProblem, DEFAULT_FILTER_CAPS, MAX_VALUES_PER_FIELD, MAX_VALUE_LENGTH } from './parse.js';
export { BUILTIN_FIELDS, TLP_FILTER_VALUES, filterFieldSpecs, checkDeclaredFields, isCaseInsensitive } from './fields.js';
export { canonicalise, canonicalJson, filterHash, subtopicNode, parseSubtopicNode, codeUnitCompare, asciiLower } from './canonical.js';
export { matchObject, compileFilter, SUPPORT_TYPES, type ObjectTest } from './match.js';
export { cutStix, makePredicate, type KeepFn } from './cut.js';
export { objectTlp, tlpAllowed, tlpRank, isStandardTlpMarking, TLP_ORDER, TLP1_MARKINGS, TLP2_MARKINGS } from './tlp.js';
