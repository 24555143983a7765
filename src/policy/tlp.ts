// TLP order for marking-based release (PROTOCOL §5): clear = white < green < amber < amber+strict < red.
import { TLP_ORDER, type Tlp } from './types.js';

/** 0 for clear (or white) up to 4 for red; -1 for anything else. */
export function tlpRank(tlp: string): number {
  const t = tlp.toLowerCase();
  return t === 'white' ? 0 : (TLP_ORDER as readonly string[]).indexOf(t as Tlp);
}
