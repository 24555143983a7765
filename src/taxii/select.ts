// Which object versions one TAXII request sees, in date_added order (PROTOCOL §13): the
// account's TLP cap first (above it an object does not exist; marking definitions always
// do), then added_after, match[id|type|spec_version|version] and the grid's filter fields,
// then the page from the cursor on. Pure over a TopicObjects index and an object loader.
import type { StixObject } from '../payloads/types.js';
import type { ObjectTest } from '../filters/match.js';
import { tlpAllowed } from '../filters/tlp.js';
import type { TlpCap } from '../filters/types.js';
import type { ObjectEntry, TopicObjects } from './object-index.js';

export interface VersionSel {
  all: boolean;
  first: boolean;
  last: boolean;
  /** Versions asked for by timestamp, in µs. */
  at: Set<number>;
}

export interface Selection {
  addedAfter?: number;
  ids?: Set<string>;
  types?: Set<string>;
  specs?: Set<string>;
  version: VersionSel;
  /** The grid's filter fields (§5), compiled; null: none. */
  grid: ObjectTest | null;
}

export interface Position {
  seq: number;
  k: number;
}

export interface Page {
  entries: ObjectEntry[];
  more: boolean;
  /** Where the next page starts after (the last entry returned, or the last one looked at). */
  next?: Position;
}

/** Entries looked at per request beyond a full page before answering `more` with a cursor. */
export const SCAN_BUDGET = 50_000;

export class Selector {
  constructor(
    private readonly t: TopicObjects,
    private readonly cap: TlpCap,
    private readonly load: (e: ObjectEntry) => StixObject | undefined,
  ) {}

  capOk(e: ObjectEntry): boolean {
    return e.type === 'marking-definition' || tlpAllowed(e.tlp, this.cap);
  }

  /** Stored, within the cap, and the first of its (id, version): "its first date_added stands". */
  exists(e: ObjectEntry): boolean {
    if (!this.capOk(e) || !this.t.live(e)) return false;
    for (const x of this.t.byId.get(e.id) ?? []) {
      if (x === e) return true;
      if (x.versionUs === e.versionUs && this.capOk(x) && this.t.live(x)) return false;
    }
    return true;
  }

  private versionOk(e: ObjectEntry, v: VersionSel): boolean {
    if (v.all || v.at.has(e.versionUs)) return true;
    if (!v.first && !v.last) return false;
    let min = Infinity;
    let max = -Infinity;
    for (const x of this.t.byId.get(e.id) ?? []) {
      if (x !== e && !this.exists(x)) continue;
      if (x.versionUs < min) min = x.versionUs;
      if (x.versionUs > max) max = x.versionUs;
    }
    return (v.first && e.versionUs === min) || (v.last && e.versionUs === max);
  }

  matches(e: ObjectEntry, s: Selection): boolean {
    if (s.addedAfter !== undefined && !(e.added > s.addedAfter)) return false;
    if (s.ids && !s.ids.has(e.id)) return false;
    if (s.types && !s.types.has(e.type)) return false;
    if (s.specs && !s.specs.has(e.spec)) return false;
    if (!this.exists(e) || !this.versionOk(e, s.version)) return false;
    if (s.grid) {
      const o = this.load(e);
      if (!o || !s.grid(o)) return false;
    }
    return true;
  }

  /** Up to `limit` matching entries after `from` (exclusive), and whether more follow. */
  page(s: Selection, limit: number, from: Position | undefined, budget = SCAN_BUDGET): Page {
    const out: ObjectEntry[] = [];
    const candidates = this.candidates(s, from);
    let scanned = 0;
    let last: ObjectEntry | undefined;
    for (const e of candidates) {
      if (!this.matches(e, s)) {
        last = e;
        if (++scanned > budget + limit) return { entries: out, more: true, next: { seq: e.seq, k: e.k } };
        continue;
      }
      if (out.length === limit) return { entries: out, more: true, next: pos(out[out.length - 1]!) };
      out.push(e);
      last = e;
      scanned++;
    }
    void last;
    return { entries: out, more: false };
  }

  /** Entries after `from` in (seq, k) order: the id lists when ids are given, else the index from a binary search. */
  private *candidates(s: Selection, from: Position | undefined): Generator<ObjectEntry> {
    if (s.ids) {
      const all: ObjectEntry[] = [];
      for (const id of s.ids) for (const e of this.t.byId.get(id) ?? []) all.push(e);
      all.sort((a, b) => a.seq - b.seq || a.k - b.k);
      for (const e of all) if (!from || e.seq > from.seq || (e.seq === from.seq && e.k > from.k)) yield e;
      return;
    }
    let i = from ? this.t.after(from.seq, from.k) : this.t.first;
    if (s.addedAfter !== undefined) i = Math.max(i, this.t.addedAfter(s.addedAfter));
    for (; i < this.t.end; i++) {
      const e = this.t.at(i);
      if (e) yield e;
    }
  }
}

function pos(e: ObjectEntry): Position {
  return { seq: e.seq, k: e.k };
}
