// The control-store journal: `<file>.journal`, the changes made since the snapshot `<file>` was
// written. Pure framing and scanning here; control.ts does the I/O.
//
//   frame: u32 LE length | u32 LE crc32(body) | body (JSON, UTF-8)
//   first frame: {"k":"base","v":1,"h":<sha256 hex of the snapshot's bytes, or null: none>}
//   then one frame per update: {"k":"ch","c":[[path, value] | [path], ...]} (change-tracker.ts)
//   and, where a fold in the background took its snapshot: {"k":"mark","h":<sha256 of it>} —
//   the changes before the mark are in that snapshot, those after it are not (version 2)
//
// The header names the snapshot the changes apply to, so a journal is never replayed onto a
// snapshot that already holds it (a crash between writing the snapshot and starting the new
// journal) or onto another one (a file restored or edited by hand).
// A frame that stops short of the end of the file, or the last frame when its checksum fails, is
// a torn write (never acknowledged: its fdatasync had not returned). A bad frame followed by
// more bytes is damage: acknowledged changes may follow it.
import { createHash } from 'node:crypto';
import { crc32, LogFormatError } from './record.js';
import { isChangeList, type Change } from './change-tracker.js';

export const JOURNAL_SUFFIX = '.journal';
/** Version 2 adds the fold mark; version 1 journals (no marks) read the same. */
export const JOURNAL_VERSION = 2;
const HEADER = 8;

export interface JournalHeader {
  k: 'base';
  v: number;
  /** sha256 of the snapshot's bytes; null when no snapshot existed. */
  h: string | null;
}

export function snapshotHash(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

export function encodeJournalFrame(body: string): Buffer {
  const len = Buffer.byteLength(body, 'utf8');
  const frame = Buffer.allocUnsafe(HEADER + len);
  frame.write(body, HEADER, 'utf8');
  frame.writeUInt32LE(len, 0);
  frame.writeUInt32LE(crc32(frame.subarray(HEADER)), 4);
  return frame;
}

export function headerFrame(h: string | null): Buffer {
  return encodeJournalFrame(JSON.stringify({ k: 'base', v: JOURNAL_VERSION, h } satisfies JournalHeader));
}

/** Where a background fold's snapshot (sha256 `h`) was taken: the records before it are in it. */
export function markFrame(h: string): Buffer {
  return encodeJournalFrame(JSON.stringify({ k: 'mark', h }));
}

/** The frame of one update: `changes` are the JSON texts of its [path, value] entries. */
export function changeFrame(changes: readonly string[]): Buffer {
  return encodeJournalFrame(`{"k":"ch","c":[${changes.join(',')}]}`);
}

export interface JournalScan {
  /** Undefined when the file holds no whole first frame (empty, or torn at creation). */
  header?: JournalHeader;
  records: Change[][];
  /** Fold marks: the snapshot `h` holds records[0 .. at). */
  marks: { h: string; at: number }[];
  /** Bytes up to the end of the last good frame. */
  goodBytes: number;
  size: number;
  /** A torn write at the end: cut it (it was never acknowledged). */
  torn?: { off: number; bytes: number; reason: string };
  /** A bad frame with bytes after it: acknowledged changes may be lost. */
  damage?: { off: number; bytes: number; reason: string };
}

/** Reads every frame of a journal's bytes. Throws LogFormatError on a whole frame it does not understand. */
export function scanJournal(buf: Buffer, where: string): JournalScan {
  const out: JournalScan = { records: [], marks: [], goodBytes: 0, size: buf.length };
  let off = 0;
  while (off < buf.length) {
    const bad = frameProblem(buf, off);
    if (bad) {
      const end = bad.end;
      if (end >= buf.length || allZero(buf, off)) out.torn = { off, bytes: buf.length - off, reason: bad.reason };
      else out.damage = { off, bytes: buf.length - off, reason: bad.reason };
      return out;
    }
    const len = buf.readUInt32LE(off);
    const body = buf.toString('utf8', off + HEADER, off + HEADER + len);
    let v: unknown;
    try {
      v = JSON.parse(body);
    } catch {
      throw new LogFormatError(`${where}: frame at byte ${off}: checksum holds but it is not JSON`);
    }
    const rec = v as { k?: unknown; v?: unknown; h?: unknown; c?: unknown };
    if (off === 0) {
      if (rec.k !== 'base' || typeof rec.v !== 'number' || !(rec.h === null || typeof rec.h === 'string')) {
        throw new LogFormatError(`${where}: the first frame is not a journal header`);
      }
      if (rec.v > JOURNAL_VERSION) throw new LogFormatError(`${where}: journal version ${rec.v} is newer than this controller reads (${JOURNAL_VERSION})`);
      out.header = { k: 'base', v: rec.v, h: rec.h };
    } else if (rec.k === 'mark' && typeof rec.h === 'string' && out.header!.v >= 2) {
      out.marks.push({ h: rec.h, at: out.records.length });
    } else {
      if (rec.k !== 'ch' || !isChangeList(rec.c)) throw new LogFormatError(`${where}: frame at byte ${off} is not a change record (written by a newer version?)`);
      out.records.push(rec.c);
    }
    off += HEADER + len;
    out.goodBytes = off;
  }
  return out;
}

function frameProblem(buf: Buffer, off: number): { reason: string; end: number } | undefined {
  if (buf.length - off < HEADER) return { reason: 'cut-off frame header', end: buf.length };
  const len = buf.readUInt32LE(off);
  if (len === 0) return { reason: 'empty frame', end: off + HEADER };
  const end = off + HEADER + len;
  if (end > buf.length) return { reason: 'cut-off frame body', end };
  if (crc32(buf.subarray(off + HEADER, end)) !== buf.readUInt32LE(off + 4)) return { reason: 'checksum mismatch', end };
  return undefined;
}

/** A size extended before its data reached the disk reads as zeros. */
function allZero(buf: Buffer, off: number): boolean {
  for (let i = off; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}
