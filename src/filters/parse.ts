// Turns submitted filter fields (form values, names without `filter.`) into a canonical
// filter, or an invalid-options Fail that names the field (→ <invalid-options/>, docs/protocol.md §5).
import type { FieldSpec, Filter, FilterCaps, TopicFilterFields } from './types.js';
import { failField, ok, type Result } from '../result.js';
import { BUILTIN_FIELDS, TLP_FILTER_VALUES } from './fields.js';
import { asciiLower, canonicalise } from './canonical.js';
import { builtinFilterFields } from '../payloads/index.js';
import { isIdentifier, isStixType } from '../payloads/stix-rules.js';

/** Bounds that keep one subscription from costing every publish much (hot path). */
export const MAX_VALUES_PER_FIELD = 256;
export const MAX_VALUE_LENGTH = 1024;

export const DEFAULT_FILTER_CAPS: FilterCaps = { values: 256, bytes: 16384 };

/** Why the filter as submitted is over a cap (a text naming it), or null. Stops at the cap. */
export function filterSizeProblem(fields: Readonly<Record<string, readonly string[]>>, caps: FilterCaps): string | null {
  let values = 0;
  let bytes = 0;
  for (const name of Object.keys(fields)) {
    const list = fields[name]!;
    values += list.length;
    if (values > caps.values) return `the filter has more than ${caps.values} values: at most ${caps.values} per subscription (limits.filter_values)`;
    bytes += Buffer.byteLength(name);
    for (const v of list) bytes += typeof v === 'string' ? Buffer.byteLength(v) : 0;
    if (bytes > caps.bytes) return `the filter takes more than ${caps.bytes} bytes: at most ${caps.bytes} per subscription (limits.filter_bytes)`;
  }
  return null;
}

const CONTROL_RE = /[\u0000-\u001f\u007f]/;
const TOKEN_RE = /^[\x21-\x7e]+$/;
const VERSION_RE = /^\d+\.\d+$/;

/** Why `v` (trimmed, lower-cased where the field ignores case) is not acceptable, or null. */
function valueError(spec: FieldSpec, v: string): string | null {
  switch (spec.kind) {
    case 'stix-type':
      return isStixType(v) ? null : 'is not a STIX type name (a-z, 0-9 and -, 3-250 characters)';
    case 'identifier':
      return isIdentifier(v) ? null : "is not a STIX identifier ('<type>--<uuid>')";
    case 'identity-ref':
      return isIdentifier(v, 'identity') ? null : "is not an identity identifier ('identity--<uuid>')";
    case 'version':
      return VERSION_RE.test(v) ? null : "is not a STIX version such as '2.1'";
    case 'tlp':
      return TLP_FILTER_VALUES.includes(v) ? null : `is not a TLP level (${TLP_FILTER_VALUES.join(', ')})`;
    case 'integer':
      return /^\d+$/.test(v) && Number(v) <= 100 ? null : 'is not an integer from 0 to 100';
    case 'token':
      return TOKEN_RE.test(v) ? null : 'must be printable ASCII without spaces';
    case 'text':
      return null;
  }
}

function fieldError(spec: FieldSpec, values: readonly string[]): string | null {
  if (values.length === 0) return 'has no value';
  if (spec.single && values.length !== 1) return 'takes exactly one value';
  if (values.length > MAX_VALUES_PER_FIELD) return `has more than ${MAX_VALUES_PER_FIELD} values`;
  for (const raw of values) {
    if (typeof raw !== 'string') return 'has a value that is not text';
    const v = spec.caseInsensitive ? asciiLower(raw.trim()) : raw.trim();
    if (v === '') return 'has an empty value';
    if (v.length > MAX_VALUE_LENGTH) return `has a value longer than ${MAX_VALUE_LENGTH} characters`;
    if (CONTROL_RE.test(v)) return 'has a value with control characters';
    const err = valueError(spec, v);
    if (err) return `value ${JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v)} ${err}`;
  }
  return null;
}

function specFor(name: string, filterFields: TopicFilterFields): FieldSpec | undefined {
  if (Object.hasOwn(BUILTIN_FIELDS, name)) return BUILTIN_FIELDS[name];
  if (Object.hasOwn(filterFields, name)) {
    return { name, kind: 'text', caseInsensitive: false, single: false, formType: 'text-multi', path: filterFields[name] };
  }
  return undefined;
}

/**
 * Validates and canonicalises a filter for a topic. `fields` maps names without the
 * `filter.` prefix to the submitted values. No fields gives the empty filter `{}`, which
 * callers treat as "no filter". Non-STIX topics support no filter fields at all.
 */
export function parseFilter(
  fields: Readonly<Record<string, readonly string[]>>,
  topic: { contentType: string; filterFields: TopicFilterFields },
  caps: FilterCaps = DEFAULT_FILTER_CAPS,
): Result<Filter> {
  const names = Object.keys(fields);
  const size = filterSizeProblem(fields, caps);
  if (size) return failField('invalid-options', names[0] ?? '', size);
  const supported = builtinFilterFields(topic.contentType);
  if (supported.length === 0 && names.length > 0) {
    return failField('invalid-options', names[0]!, `filter field '${names[0]}': topics of content type ${topic.contentType} cannot be filtered`);
  }
  for (const name of names) {
    const spec = specFor(name, topic.filterFields);
    if (!spec) {
      const all = [...supported, ...Object.keys(topic.filterFields).filter((n) => !supported.includes(n))];
      return failField('invalid-options', name, `unknown filter field '${name.slice(0, 64)}'; this topic supports: ${all.join(', ')}`);
    }
    const err = fieldError(spec, fields[name]!);
    if (err) return failField('invalid-options', name, `filter field '${name}' ${err}`);
  }
  return ok(canonicalise(fields));
}
