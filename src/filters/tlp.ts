// TLP markings: the standard marking-definition ids and the release order.
import type { StixObject } from '../payloads/types.js';
import type { Tlp, TlpCap } from './types.js';

/**
 * TLP 1.0 marking definitions, fixed by STIX 2.1 §7.2.1.4 (the same ids are in the OASIS
 * schema common/marking-definition.json, definitions tlp_white … tlp_red).
 */
export const TLP1_MARKINGS: Readonly<Record<string, Tlp>> = {
  'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9': 'clear', // TLP:WHITE
  'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da': 'green',
  'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82': 'amber',
  'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed': 'red',
};

/**
 * TLP 2.0 marking definitions of the OASIS extension
 * extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d, from oasis-open/
 * cti-stix-common-objects extension-definition-specifications/tlp-2.0/marking-definition.json.
 */
export const TLP2_MARKINGS: Readonly<Record<string, Tlp>> = {
  'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487': 'clear',
  'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb': 'green',
  'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421': 'amber',
  'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003': 'amber+strict',
  'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1': 'red',
};

const TLP_BY_ID: ReadonlyMap<string, Tlp> = new Map(
  [...Object.entries(TLP1_MARKINGS), ...Object.entries(TLP2_MARKINGS)],
);

/** Release order of §5: clear = white < green < amber < amber+strict < red. */
export const TLP_ORDER: readonly Tlp[] = ['clear', 'green', 'amber', 'amber+strict', 'red'];
const RANK: ReadonlyMap<Tlp, number> = new Map(TLP_ORDER.map((t, i) => [t, i]));

export function tlpRank(t: Tlp): number {
  return RANK.get(t)!;
}

export function isStandardTlpMarking(id: string): boolean {
  return TLP_BY_ID.has(id);
}

function stricter(a: Tlp | undefined, id: unknown): Tlp | undefined {
  const t = typeof id === 'string' ? TLP_BY_ID.get(id) : undefined;
  if (t === undefined) return a;
  return a === undefined || RANK.get(t)! > RANK.get(a)! ? t : a;
}

/**
 * The object's TLP from `object_marking_refs`: the most restrictive standard TLP marking
 * when several are present (as STIX 1.2's TLP marking documented). Other marking
 * definitions (statements, custom TLP-like ones) do not count: STIX 2.1 requires the fixed
 * ids. `granular: true` also counts granular markings, so that releasing an object never
 * leaks a part marked higher than the whole.
 */
export function objectTlp(obj: StixObject, opts: { granular?: boolean } = {}): Tlp | undefined {
  let tlp: Tlp | undefined;
  const refs = obj.object_marking_refs;
  if (Array.isArray(refs)) for (const id of refs) tlp = stricter(tlp, id);
  const gm = obj.granular_markings;
  if (opts.granular && Array.isArray(gm)) {
    for (const g of gm) if (g && typeof g === 'object') tlp = stricter(tlp, (g as { marking_ref?: unknown }).marking_ref);
  }
  return tlp;
}

/** May an object marked `objTlp` (undefined: unmarked) go to a node with this cap? */
export function tlpAllowed(objTlp: Tlp | undefined, cap: TlpCap): boolean {
  if (objTlp === undefined) return cap.unmarked !== 'deny';
  return cap.maxTlp === undefined || tlpRank(objTlp) <= tlpRank(cap.maxTlp);
}
