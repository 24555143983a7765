// The demo's data: MITRE ATT&CK for ICS (one 1,826-object bundle), a copy marked with TLP so
// the TLP cuts have something to cut, packed into bundles that fit one item each. Pure.
import { createHash, randomUUID } from 'node:crypto';
import type { StixObject } from '../payloads/types.js';
import { SUPPORT_TYPES } from '../filters/match.js';
import { TLP2_MARKINGS, objectTlp } from '../filters/tlp.js';
import type { Tlp } from '../filters/types.js';
import type { ObjectCounts } from './demo-types.js';

export { ATTACK_ICS_FILE } from './data-files.js';
import { readDataText } from './data-files.js';
export const ATTACK_COPYRIGHT = 'ATT&CK for ICS © 2015-2025 The MITRE Corporation. Reproduced under the MITRE ATT&CK licence.';

/** One object alone over this is left out: one stanza must stay well under Prosody's 256 KiB. */
export const MAX_OBJECT_BYTES = 64 * 1024;
/** A bundle is closed before its JSON passes this. */
export const MAX_BUNDLE_BYTES = 150 * 1024;

/** How much of the copy gets each TLP, by the first byte of SHA-256("tlp:" + id): about 35/30/20/15 %. */
const TLP_SHARE: readonly [Tlp, number][] = [['clear', 90], ['green', 167], ['amber', 218], ['red', 256]];
const TLP2_ID: ReadonlyMap<Tlp, string> = new Map(Object.entries(TLP2_MARKINGS).map(([id, t]) => [t, id]));

/** SHA-256 of a salted id. The salts keep the TLP pick and the replay order independent:
 *  with one hash for both, the bundles came out sorted by TLP. */
function digest(salt: string, id: string): Buffer {
  return createHash('sha256').update(`${salt}:${id}`).digest();
}

export function loadStixObjects(file: string): StixObject[] {
  const doc = JSON.parse(readDataText(file)) as { objects?: unknown };
  if (!Array.isArray(doc.objects)) throw new Error(`${file}: not a STIX bundle (no "objects" list)`);
  return doc.objects as StixObject[];
}

/** The TLP the demo gives an object: fixed by its id, so every run marks the same way. */
export function demoTlp(id: string): Tlp {
  const b = digest('tlp', id)[0]!;
  return TLP_SHARE.find(([, below]) => b < below)![0];
}

/**
 * A copy with a TLP 2.0 marking added to object_marking_refs (MITRE's own statement marking
 * stays). Support objects (identity, marking-definition) stay unmarked, as they come.
 */
export function markCopy(o: StixObject): StixObject {
  if (SUPPORT_TYPES.has(o.type)) return o;
  const refs = Array.isArray(o.object_marking_refs) ? o.object_marking_refs : [];
  return { ...o, object_marking_refs: [...refs, TLP2_ID.get(demoTlp(o.id))!] };
}

export interface DemoBundle {
  id: string;
  /** Item id the provider publishes it under. */
  itemId: string;
  objects: StixObject[];
  /** The content objects only (without the support objects repeated in every bundle). */
  content: StixObject[];
}

export interface Packed {
  bundles: DemoBundle[];
  skipped: StixObject[];
}

/**
 * Bundles of up to `size` content objects in an order mixed by hash (the file is sorted by
 * type; a mix shows every filter at work in every bundle), each carrying the identity and
 * marking definitions the objects reference, as a real provider would send them.
 */
export function packBundles(objects: readonly StixObject[], size: number, limit = Infinity): Packed {
  const support = objects.filter((o) => SUPPORT_TYPES.has(o.type));
  const supportBytes = support.reduce((n, o) => n + JSON.stringify(o).length + 1, 0);
  const skipped: StixObject[] = [];
  const content = objects
    .filter((o) => !SUPPORT_TYPES.has(o.type))
    .filter((o) => (JSON.stringify(o).length <= MAX_OBJECT_BYTES ? true : (skipped.push(o), false)))
    .map((o) => ({ o, k: digest('order', o.id).toString('hex') }))
    .sort((a, b) => (a.k < b.k ? -1 : 1))
    .map(({ o }) => markCopy(o));
  const bundles: DemoBundle[] = [];
  let cur: StixObject[] = [];
  let bytes = supportBytes;
  const close = () => {
    if (!cur.length) return;
    const n = String(bundles.length + 1).padStart(2, '0');
    bundles.push({ id: `bundle--${randomUUID()}`, itemId: `ics-b${n}`, objects: [...support, ...cur], content: cur });
    cur = [];
    bytes = supportBytes;
  };
  for (const o of content) {
    if (bundles.length >= limit) break;
    const b = JSON.stringify(o).length + 1;
    if (cur.length >= size || bytes + b > MAX_BUNDLE_BYTES) close();
    if (bundles.length >= limit) break;
    cur.push(o);
    bytes += b;
  }
  if (bundles.length < limit) close();
  return { bundles, skipped };
}

export function bundleDoc(b: DemoBundle): Record<string, unknown> {
  return { type: 'bundle', id: b.id, objects: b.objects };
}

export function emptyCounts(): ObjectCounts {
  return { items: 0, objects: 0, byType: {}, byTlp: {} };
}

/** Adds one item's objects; support objects are counted by type only when `withSupport`. */
export function addObjects(c: ObjectCounts, objects: readonly StixObject[], withSupport = false): void {
  c.items++;
  for (const o of objects) {
    if (!withSupport && SUPPORT_TYPES.has(o.type)) continue;
    c.objects++;
    c.byType[o.type] = (c.byType[o.type] ?? 0) + 1;
    const t = objectTlp(o, { granular: true }) ?? 'unmarked';
    c.byTlp[t] = (c.byTlp[t] ?? 0) + 1;
  }
}

/** The objects of a received payload (bundle, envelope or single object). */
export function objectsOf(payload: unknown): StixObject[] {
  if (!payload || typeof payload !== 'object') return [];
  const p = payload as { objects?: unknown; type?: unknown; id?: unknown };
  if (Array.isArray(p.objects)) return p.objects as StixObject[];
  return typeof p.type === 'string' && typeof p.id === 'string' ? [p as StixObject] : [];
}
