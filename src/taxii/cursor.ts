// TAXII `next` (PROTOCOL §13): opaque to clients, stateless here. It names the position of the
// last object version a page returned — (seq, k), which never changes for a stored object
// and only grows for new ones — and the filter it belongs to, so it is valid without `limit`,
// after a restart and while items are added, and never skips or repeats an object.
import type { Position } from './select.js';

export interface Cursor {
  bind: string;
  at: Position;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([1, c.bind, c.at.seq, c.at.k]), 'utf8').toString('base64url');
}

export function decodeCursor(s: string): Cursor | null {
  if (s.length > 200 || !/^[A-Za-z0-9_-]+$/.test(s)) return null;
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v.length !== 4 || v[0] !== 1) return null;
    const [, bind, seq, k] = v as [number, unknown, unknown, unknown];
    if (typeof bind !== 'string' || !/^[0-9a-f]{16}$/.test(bind)) return null;
    if (!Number.isSafeInteger(seq) || (seq as number) < 0 || !Number.isSafeInteger(k) || (k as number) < 0) return null;
    return { bind, at: { seq: seq as number, k: k as number } };
  } catch {
    return null;
  }
}
