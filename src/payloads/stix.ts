// STIX 2.1 payload validation (docs/protocol.md §5): a bundle, a TAXII 2.1 envelope or one object.
// Parses once; the result's objects are reused by every subtopic's cut (filters/cut.ts).
import type { ParsedStix, StixObject } from './types.js';
import { fail as failWith, ok as okWith, type Fail, type Result } from '../result.js';
import {
  REQUIRED_PROPERTIES, SCO_TYPES, TIMESTAMP_PROPERTIES, conditionalError, isIdentifier,
  isStixType, isTimestamp, timestampMillis,
} from './stix-rules.js';

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Untrusted values go into error texts quoted and shortened. */
function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}

function isIdList(v: unknown, type?: string): boolean {
  return Array.isArray(v) && v.length > 0 && v.every((x) => isIdentifier(x, type));
}

function isStringList(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');
}

function commonError(o: Json): string | null {
  const sco = SCO_TYPES.has(o.type as string);
  if (sco) {
    if (o.spec_version !== undefined && o.spec_version !== '2.1') {
      return `property 'spec_version' must be "2.1" (got ${show(o.spec_version)})`;
    }
    return null;
  }
  if (o.spec_version === undefined) return "property 'spec_version' is required";
  if (o.spec_version !== '2.1') return `property 'spec_version' must be "2.1" (got ${show(o.spec_version)})`;
  if (o.created === undefined) return "property 'created' is required";
  if (o.modified === undefined && o.type !== 'marking-definition') return "property 'modified' is required";
  return null;
}

function timestampError(o: Json): string | null {
  for (const key of TIMESTAMP_PROPERTIES) {
    if (o[key] !== undefined && !isTimestamp(o[key])) {
      return `property '${key}' must be an RFC 3339 timestamp in UTC ending in Z (got ${show(o[key])})`;
    }
  }
  if (typeof o.created === 'string' && typeof o.modified === 'string' &&
      timestampMillis(o.modified) < timestampMillis(o.created)) {
    return "property 'modified' is earlier than 'created'";
  }
  return null;
}

function markingError(o: Json): string | null {
  if (o.created_by_ref !== undefined && !isIdentifier(o.created_by_ref, 'identity')) {
    return `property 'created_by_ref' must be an identity identifier (got ${show(o.created_by_ref)})`;
  }
  if (o.object_marking_refs !== undefined && !isIdList(o.object_marking_refs, 'marking-definition')) {
    return "property 'object_marking_refs' must be a non-empty list of marking-definition identifiers";
  }
  if (o.granular_markings === undefined) return null;
  const gm = o.granular_markings;
  const ok = Array.isArray(gm) && gm.length > 0 && gm.every((g) => isRecord(g) &&
    isStringList(g.selectors) &&
    (g.marking_ref === undefined ? typeof g.lang === 'string' : isIdentifier(g.marking_ref, 'marking-definition')));
  return ok ? null
    : "property 'granular_markings' must be a non-empty list of {selectors, marking_ref or lang}";
}

function propertyError(o: Json): string | null {
  const c = o.confidence;
  if (c !== undefined && !(Number.isInteger(c) && (c as number) >= 0 && (c as number) <= 100)) {
    return `property 'confidence' must be an integer from 0 to 100 (got ${show(c)})`;
  }
  if (o.labels !== undefined && !isStringList(o.labels)) {
    return "property 'labels' must be a non-empty list of strings";
  }
  const k = o.kill_chain_phases;
  if (k !== undefined && !(Array.isArray(k) && k.length > 0 && k.every((p) => isRecord(p) &&
      typeof p.kill_chain_name === 'string' && typeof p.phase_name === 'string'))) {
    return "property 'kill_chain_phases' must be a non-empty list of {kill_chain_name, phase_name}";
  }
  const e = o.external_references;
  if (e !== undefined && !(Array.isArray(e) && e.every((r) => isRecord(r) && typeof r.source_name === 'string'))) {
    return "property 'external_references' must be a list of objects with a 'source_name'";
  }
  return null;
}

/**
 * STIX 2.1: properties named *_ref hold an identifier, *_refs a list of them. Custom
 * `x_` properties are the producer's business (ATT&CK sends x_mitre_data_source_ref: "").
 */
function referenceError(o: Json): string | null {
  for (const key of Object.keys(o)) {
    if (key === 'created_by_ref' || key === 'object_marking_refs' || key.startsWith('x_')) continue;
    if (key.endsWith('_ref') && !isIdentifier(o[key])) {
      return `property '${key}' must be an identifier (got ${show(o[key])})`;
    }
    if (key.endsWith('_refs') && !isIdList(o[key])) {
      return `property '${key}' must be a non-empty list of identifiers`;
    }
  }
  return null;
}

function requiredError(o: Json): string | null {
  for (const key of REQUIRED_PROPERTIES[o.type as string] ?? []) {
    if (o[key] === undefined || o[key] === null) return `property '${key}' is required`;
  }
  return conditionalError(o);
}

/** Checks one STIX 2.1 object; returns the problem (without the object's position) or null. */
export function stixObjectError(o: unknown): string | null {
  if (!isRecord(o)) return 'is not a JSON object';
  if (!isStixType(o.type)) {
    return `property 'type' must be 3-250 characters of a-z, 0-9 and '-', starting with a letter, without '--' (got ${show(o.type)})`;
  }
  if (o.type === 'bundle') return 'a bundle cannot be nested inside another payload';
  if (!isIdentifier(o.id, o.type)) return `property 'id' must be '${o.type}--<uuid>' (got ${show(o.id)})`;
  return commonError(o) ?? timestampError(o) ?? markingError(o) ?? propertyError(o) ??
    referenceError(o) ?? requiredError(o);
}

function where(o: unknown, index: number | null): string {
  const pos = index === null ? 'object' : `object ${index}`;
  return isRecord(o) && typeof o.id === 'string' ? `${pos} (${show(o.id)})` : pos;
}

function objectsError(objects: unknown, container: string): string | null {
  if (!Array.isArray(objects)) return `${container}: property 'objects' must be a list`;
  if (objects.length === 0) return `${container}: property 'objects' is empty; there is nothing to deliver`;
  for (let i = 0; i < objects.length; i++) {
    const err = stixObjectError(objects[i]);
    if (err) return `${where(objects[i], i)}: ${err}`;
  }
  return null;
}

/**
 * STIX objects are shallow; JSON nested thousands deep costs JSON.parse (and every walk of
 * the result) far more than its size suggests (100,000 levels: ~30 ms of parse, then
 * recursion limits). One linear scan, outside strings, refuses it before parsing.
 */
export const MAX_JSON_DEPTH = 64;

function nestingProblem(text: string): string | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) return `payload JSON is nested deeper than ${MAX_JSON_DEPTH} levels`;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return null;
}

/** Every refusal of a STIX payload is invalid-payload, with the reason (object, id, property). */
function fail(text: string): Fail {
  return failWith('invalid-payload', text);
}

/**
 * Validates a STIX 2.1 payload: a bundle, a TAXII 2.1 envelope (`{"objects":[…]}` with
 * optional `more`/`next`) or a single object. Errors name the object's index, id and property.
 */
export function parseStixPayload(jsonText: string): Result<ParsedStix> {
  const depth = nestingProblem(jsonText);
  if (depth) return fail(depth);
  let doc: unknown;
  try {
    doc = JSON.parse(jsonText);
  } catch (e) {
    return fail(`payload is not valid JSON: ${(e as Error).message}`);
  }
  if (!isRecord(doc)) return fail('payload must be a JSON object: a STIX bundle, a TAXII 2.1 envelope or one STIX object');
  const ok = (kind: ParsedStix['kind'], objects: unknown): Result<ParsedStix> =>
    okWith({ kind, objects: objects as StixObject[], doc, text: jsonText });
  if (doc.type === 'bundle') {
    if (!isIdentifier(doc.id, 'bundle')) return fail(`bundle: property 'id' must be 'bundle--<uuid>' (got ${show(doc.id)})`);
    const err = objectsError(doc.objects, 'bundle');
    return err ? fail(err) : ok('bundle', doc.objects);
  }
  if (doc.type !== undefined) {
    const err = stixObjectError(doc);
    return err ? fail(`${where(doc, null)}: ${err}`) : ok('object', [doc]);
  }
  if (doc.objects === undefined) {
    return fail("payload has neither 'type' (a STIX object or bundle) nor 'objects' (a TAXII 2.1 envelope)");
  }
  if (doc.more !== undefined && typeof doc.more !== 'boolean') return fail("envelope: property 'more' must be a boolean");
  if (doc.next !== undefined && typeof doc.next !== 'string') return fail("envelope: property 'next' must be a string");
  const err = objectsError(doc.objects, 'envelope');
  return err ? fail(err) : ok('envelope', doc.objects);
}
