// Domain types of filtering. Pure: no XMPP, no policy import. `Tlp` is the grid's one TLP type.

/** TLP levels, TLP 2.0 names; TLP 1.0 `white` is read as `clear` (release order: filters/tlp.ts TLP_ORDER). */
export type Tlp = 'clear' | 'green' | 'amber' | 'amber+strict' | 'red';

/**
 * A canonical filter (docs/protocol.md §5): field names without the `filter.` prefix, sorted;
 * each value a sorted, de-duplicated list of trimmed strings. Values within a field are OR,
 * fields are AND.
 */
export type Filter = Record<string, string[]>;

/** Declared filter fields of a topic: field name → dotted property path of the STIX object. */
export type TopicFilterFields = Readonly<Record<string, string>>;

/** What a permitting policy rule allows a node to receive (`max_tlp`, `unmarked`, §12). */
export interface TlpCap {
  maxTlp?: Tlp;
  /** Objects without a TLP marking; default 'allow'. */
  unmarked?: 'allow' | 'deny';
}

/** How one filter field is checked, canonicalised and offered in a form. */
export interface FieldSpec {
  name: string;
  kind: 'stix-type' | 'identifier' | 'identity-ref' | 'version' | 'tlp' | 'integer' | 'token' | 'text';
  /** Values are ASCII-lower-cased before comparison and hashing. */
  caseInsensitive: boolean;
  /** Exactly one value (min_confidence). */
  single: boolean;
  /** XEP-0004 field type in the subscribe-options form (§5). */
  formType: 'list-multi' | 'text-multi';
  /** Allowed values, for list-multi fields. */
  options?: readonly string[];
  /** Dotted STIX property path, for topic-declared fields. */
  path?: string;
}

/**
 * The size of one filter, all fields together (config `limits.filter_values`,
 * `limits.filter_bytes`): a filter is stored, hashed, matched on every publish and listed to
 * publishers in its subtopic's form, so its size bounds all of those.
 */
export interface FilterCaps {
  values: number;
  bytes: number;
}

/** Result of cutting a STIX payload for one subtopic / one capped node. */
export interface StixCut {
  json: string;
  /** Objects in the cut, support objects (markings, identities) included. */
  count: number;
  /** Objects that matched by themselves. */
  matched: number;
}
