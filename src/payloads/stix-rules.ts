// Lexical rules of STIX 2.1 (identifiers, types, timestamps) and which properties each
// object type requires. Kept apart from the container parsing so both stay small.

/** STIX 2.1 §4: the Cyber-observable Objects. Every other type is an SDO, SRO or SMO. */
export const SCO_TYPES: ReadonlySet<string> = new Set([
  'artifact', 'autonomous-system', 'directory', 'domain-name', 'email-addr', 'email-message',
  'file', 'ipv4-addr', 'ipv6-addr', 'mac-addr', 'mutex', 'network-traffic', 'process',
  'software', 'url', 'user-account', 'windows-registry-key', 'x509-certificate',
]);

/**
 * Properties the STIX 2.1 spec makes required, per type, beyond the common ones
 * (type, id, spec_version, created, modified). Conditional requirements (malware `name`
 * when `is_family`, location's region/country/coordinates, …) are in `conditionalError`.
 */
export const REQUIRED_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  'attack-pattern': ['name'],
  campaign: ['name'],
  'course-of-action': ['name'],
  grouping: ['context', 'object_refs'],
  identity: ['name'],
  incident: ['name'],
  indicator: ['pattern', 'pattern_type', 'valid_from'],
  infrastructure: ['name'],
  'intrusion-set': ['name'],
  malware: ['is_family'],
  'malware-analysis': ['product'],
  note: ['content', 'object_refs'],
  'observed-data': ['first_observed', 'last_observed', 'number_observed'],
  opinion: ['opinion', 'object_refs'],
  report: ['name', 'published', 'object_refs'],
  'threat-actor': ['name'],
  tool: ['name'],
  vulnerability: ['name'],
  relationship: ['relationship_type', 'source_ref', 'target_ref'],
  sighting: ['sighting_of_ref'],
  'language-content': ['object_ref', 'contents'],
  'extension-definition': ['created_by_ref', 'name', 'schema', 'version', 'extension_types'],
};

/** Top-level properties that hold a timestamp wherever they appear. */
export const TIMESTAMP_PROPERTIES: readonly string[] = [
  'created', 'modified', 'valid_from', 'valid_until', 'published', 'first_seen', 'last_seen',
  'first_observed', 'last_observed', 'start_time', 'stop_time', 'object_modified',
  'submitted', 'analysis_started', 'analysis_ended',
];

const TYPE_RE = /^[a-z][a-z0-9-]*[a-z0-9]$/;
// RFC 4122 textual form, as the OASIS identifier schema writes it (version 1–5, variant 10xx).
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/;
// RFC 3339 in UTC, the only form STIX 2.1 allows (§3.2): upper-case T and Z, optional fraction.
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)(\.\d+)?Z$/;

/** STIX type name: 3–250 chars of a–z, 0–9 and '-', starting with a letter, no '--'. */
export function isStixType(s: unknown): s is string {
  return typeof s === 'string' && s.length >= 3 && s.length <= 250 &&
    TYPE_RE.test(s) && !s.includes('--');
}

/** `<type>--<uuid>`; when `type` is given, the prefix must be exactly it. */
export function isIdentifier(s: unknown, type?: string): s is string {
  if (typeof s !== 'string') return false;
  const sep = s.indexOf('--');
  if (sep < 0) return false;
  const prefix = s.slice(0, sep);
  if (type !== undefined ? prefix !== type : !isStixType(prefix)) return false;
  return UUID_RE.test(s.slice(sep + 2));
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** RFC 3339 UTC timestamp with a real calendar date (Date.parse would roll Feb 30 over). */
export function isTimestamp(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const m = TIMESTAMP_RE.exec(s);
  if (!m) return false;
  const year = Number(m[1]), month = Number(m[2]), day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > DAYS[month - 1]!) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return !(month === 2 && day === 29 && !leap);
}

/** Milliseconds since the epoch; a leap second counts as the second before it. */
export function timestampMillis(s: string): number {
  return Date.parse(s.replace(/:60(?=[.Z])/, ':59'));
}

function present(o: Record<string, unknown>, key: string): boolean {
  return o[key] !== undefined && o[key] !== null;
}

/** Requirements the spec states as "one of" or "if … then", per type. */
export function conditionalError(o: Record<string, unknown>): string | null {
  switch (o.type) {
    case 'malware':
      if (typeof o.is_family !== 'boolean') return "property 'is_family' must be a boolean";
      if (o.is_family === true && typeof o.name !== 'string') {
        return "property 'name' is required when 'is_family' is true";
      }
      return null;
    case 'location':
      if (present(o, 'region') || present(o, 'country')) return null;
      return present(o, 'latitude') && present(o, 'longitude') ? null
        : "one of 'region', 'country' or 'latitude'+'longitude' is required";
    case 'malware-analysis':
      return present(o, 'result') || present(o, 'analysis_sco_refs') ? null
        : "one of 'result' or 'analysis_sco_refs' is required";
    case 'observed-data':
      return present(o, 'objects') !== present(o, 'object_refs') ? null
        : "exactly one of 'objects' or 'object_refs' is required";
    case 'marking-definition':
      if (present(o, 'extensions')) return null;
      return present(o, 'definition_type') && present(o, 'definition') ? null
        : "properties 'definition_type' and 'definition' are required (or 'extensions')";
    default:
      return null;
  }
}
