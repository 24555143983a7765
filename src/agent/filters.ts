// Filters travel as form fields (PROTOCOL §5, §7): Clark `{urn:xmpp-grid:0}filter.<name>` in
// the pubsub#subscribe_options form, plain `filter.<name>` in grid forms. The controller
// canonicalises and hashes them; the agent only sends the fields.
import type { Filter } from './grid-types.js';
import type { FormField } from './forms.js';
import { clark } from './ns.js';
import { usageError } from './errors.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Each filter field as a list of strings; throws a usage GridError on an empty or odd field. */
export function normaliseFilter(filter: Filter): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, raw] of Object.entries(filter)) {
    if (raw === undefined) continue;
    if (!NAME.test(name)) throw usageError(`filter field "${name}" is not a field name (letters, digits, _ . -)`);
    const values = (Array.isArray(raw) ? raw : [raw]).map((v) => String(v).trim()).filter((v) => v !== '');
    if (values.length === 0) throw usageError(`filter field "${name}" has no value`);
    out[name] = values;
  }
  return out;
}

/** Form fields for a subscribe_options form (`clark`) or a grid form such as the query's (`plain`). */
export function filterFields(filter: Filter | undefined, style: 'clark' | 'plain'): FormField[] {
  if (!filter) return [];
  return Object.entries(normaliseFilter(filter)).map(([name, values]) => ({
    var: style === 'clark' ? clark(`filter.${name}`) : `filter.${name}`,
    type: name === 'min_confidence' ? 'text-single' : 'list-multi',
    values,
  }));
}

/** Reads `filter.<name>` fields (plain or Clark) of a form back into a filter. */
export function filterOfFields(fields: Map<string, string[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const clarkPrefix = clark('filter.');
  for (const [v, values] of fields) {
    const name = v.startsWith(clarkPrefix) ? v.slice(clarkPrefix.length) : v.startsWith('filter.') ? v.slice(7) : undefined;
    if (name) out[name] = values;
  }
  return out;
}

/**
 * Command-line filter specs, `field=v1,v2` (repeatable; a repeated field adds values) → Filter.
 * `--filter type=indicator,malware --filter tlp=green`.
 */
export function parseFilterSpecs(specs: readonly string[]): Filter | undefined {
  if (specs.length === 0) return undefined;
  const out: Record<string, string[]> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw usageError(`--filter "${spec}" must look like field=value[,value…]`);
    const name = spec.slice(0, eq).trim();
    const values = spec.slice(eq + 1).split(',').map((v) => v.trim()).filter((v) => v !== '');
    if (values.length === 0) throw usageError(`--filter "${spec}" has no value`);
    out[name] = [...(out[name] ?? []), ...values];
  }
  normaliseFilter(out);
  return out;
}
