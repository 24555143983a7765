// The built-in STIX 2.1 filter fields (docs/protocol.md §5) and how each is checked.
import type { FieldSpec, TopicFilterFields } from './types.js';
import { STIX_FILTER_FIELDS, builtinFilterFields } from '../payloads/index.js';
import { failField, ok, type Result } from '../result.js';

/** Accepted `tlp` values; `white` (TLP 1.0) is canonicalised to `clear`. */
export const TLP_FILTER_VALUES: readonly string[] = ['clear', 'white', 'green', 'amber', 'amber+strict', 'red'];

const spec = (name: string, kind: FieldSpec['kind'], caseInsensitive: boolean, extra: Partial<FieldSpec> = {}): FieldSpec =>
  ({ name, kind, caseInsensitive, single: false, formType: 'text-multi', ...extra });

export const BUILTIN_FIELDS: Readonly<Record<string, FieldSpec>> = {
  type: spec('type', 'stix-type', true),
  id: spec('id', 'identifier', false),
  spec_version: spec('spec_version', 'version', true),
  labels: spec('labels', 'text', true),
  tlp: spec('tlp', 'tlp', true, { formType: 'list-multi', options: TLP_FILTER_VALUES }),
  min_confidence: spec('min_confidence', 'integer', false, { single: true }),
  created_by_ref: spec('created_by_ref', 'identity-ref', false),
  pattern_type: spec('pattern_type', 'token', true),
  kill_chain_phase: spec('kill_chain_phase', 'text', true),
};

// Guard: the payload layer's list and this table must name the same fields.
if (STIX_FILTER_FIELDS.some((f) => !BUILTIN_FIELDS[f]) || Object.keys(BUILTIN_FIELDS).length !== STIX_FILTER_FIELDS.length) {
  throw new Error('filters/fields.ts and payloads STIX_FILTER_FIELDS disagree');
}

/** Fields whose values are ASCII-lower-cased: all built-ins but id and created_by_ref. */
export function isCaseInsensitive(name: string): boolean {
  return Object.hasOwn(BUILTIN_FIELDS, name) && BUILTIN_FIELDS[name]!.caseInsensitive;
}

export function isBuiltinField(name: string): boolean {
  return Object.hasOwn(BUILTIN_FIELDS, name);
}

/**
 * Every filter field a topic supports, for its `filter-fields` list and the options form:
 * the built-ins of its content type, then the fields it declares (built-in names win).
 */
export function filterFieldSpecs(topic: { contentType: string; filterFields: TopicFilterFields }): FieldSpec[] {
  const builtin = builtinFilterFields(topic.contentType);
  if (builtin.length === 0) return [];
  const out = builtin.map((n) => BUILTIN_FIELDS[n]!);
  for (const [name, path] of Object.entries(topic.filterFields)) {
    if (!isBuiltinField(name)) out.push({ name, kind: 'text', caseInsensitive: false, single: false, formType: 'text-multi', path });
  }
  return out;
}

const DECLARED_NAME_RE = /^[a-z][a-z0-9_-]{0,63}$/;
const PATH_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){0,7}$/;

/**
 * Checks a topic's declared filter fields (policy `filter_fields`, node_config
 * `{urn:xmpp-grid:0}filter_fields`): names that could not be told from built-ins or that
 * would not survive a form's `filter.` prefix are refused, and paths must be dotted names.
 */
export function checkDeclaredFields(fields: Record<string, string>): Result<void> {
  for (const [name, path] of Object.entries(fields)) {
    if (isBuiltinField(name)) return failField('not-acceptable', name, `filter field '${name}' is built in and cannot be redeclared`);
    if (!DECLARED_NAME_RE.test(name)) {
      return failField('not-acceptable', name, `filter field name '${name.slice(0, 64)}' must be a-z, 0-9, '_' or '-', starting with a letter, at most 64 characters`);
    }
    if (typeof path !== 'string' || !PATH_RE.test(path)) {
      return failField('not-acceptable', name, `filter field '${name}' needs a dotted STIX property path such as x_location or x_geo.country`);
    }
  }
  return ok(undefined);
}
