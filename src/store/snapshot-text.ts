// The bytes of a control-store snapshot (json-file.ts snapshotText), built in slices so a fold in
// the background does not stall the event loop for a whole JSON.stringify of the state (40–80 ms
// at 10k subscriptions on a loaded machine: every update waiting meanwhile would pay it).
//
// Built from time T (the constructor) to T' (finish): every entry of every top-level map is
// serialized in slices, yielding between them; the store reports each change made after T with
// touch(path). finish() then assembles, synchronously, the snapshot of the state at T': an entry
// no change touched since T is the same value it was when sliced, so its text stands; a touched
// entry, and anything outside the maps, is serialized again from the live state. The result is
// byte for byte snapshotText(state at T') (key order and indentation included).
import { performance } from 'node:perf_hooks';
import { snapshotText } from './json-file.js';

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An entry of a top-level map as it appears in the snapshot (indented two levels). */
function entryText(v: unknown): string | undefined {
  const t = JSON.stringify(v, null, 2) as string | undefined;
  return t === undefined ? undefined : t.replace(/\n/g, '\n    ');
}

const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class SlicedSnapshot {
  /** Top-level key → entry → its text, as sliced. */
  private readonly texts = new Map<string, Map<string, string>>();
  private readonly touchedEntries = new Map<string, Set<string>>();
  private readonly touchedWhole = new Set<string>();

  constructor(private readonly state: Record<string, unknown>, private readonly sliceMs = 4) {}

  /** A change made after T, at `path` (a control-store change path). */
  touch(path: readonly string[]): void {
    const k = path[0]!;
    if (path.length === 1) {
      this.touchedWhole.add(k);
      return;
    }
    let s = this.touchedEntries.get(k);
    if (!s) this.touchedEntries.set(k, (s = new Set()));
    s.add(path[1]!);
  }

  /** Serializes the maps' entries, a slice of `sliceMs` at a time. */
  async build(): Promise<void> {
    let t = performance.now();
    for (const k of Object.keys(this.state)) {
      const m = this.state[k];
      if (!isMap(m)) continue;
      const texts = new Map<string, string>();
      this.texts.set(k, texts);
      for (const e of Object.keys(m)) {
        if (performance.now() - t > this.sliceMs) {
          await yieldTurn();
          t = performance.now();
        }
        if (this.touchedWhole.has(k)) break; // replaced whole: finish() serializes it again
        if (this.touchedEntries.get(k)?.has(e) || !Object.hasOwn(m, e)) continue;
        const text = entryText(m[e]);
        if (text !== undefined) texts.set(e, text);
      }
    }
  }

  /** The snapshot's text of the state now (synchronous: nothing changes meanwhile). */
  finish(): string {
    const parts: string[] = [];
    for (const k of Object.keys(this.state)) {
      const v = this.state[k];
      const texts = this.texts.get(k);
      let text: string | undefined;
      if (isMap(v) && texts && !this.touchedWhole.has(k)) {
        const touched = this.touchedEntries.get(k);
        const es: string[] = [];
        for (const e of Object.keys(v)) {
          const et = (touched?.has(e) ? undefined : texts.get(e)) ?? entryText(v[e]);
          if (et !== undefined) es.push(`    ${JSON.stringify(e)}: ${et}`);
        }
        text = es.length ? `{\n${es.join(',\n')}\n  }` : '{}';
      } else {
        const t = JSON.stringify(v, null, 2) as string | undefined;
        text = t?.replace(/\n/g, '\n  ');
      }
      if (text !== undefined) parts.push(`  ${JSON.stringify(k)}: ${text}`);
    }
    return parts.length ? `{\n${parts.join(',\n')}\n}\n` : snapshotText({});
  }
}
