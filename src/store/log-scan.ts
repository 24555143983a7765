// Reading a format-2 item log at open: every good frame, every damaged region, and the tail.
//
// A frame whose header holds but whose body fails its checksum costs that frame alone (the
// length is trusted: the header checksum covers it). A header that does not hold is skipped by
// scanning forward, byte by byte, for the next magic with a good header. What follows the last
// good frame without any good frame after it is the tail: a torn write, or damage to the last
// frames (the caller tells the two apart by the seq file). The file is read in chunks, so
// opening a large log never holds it whole in memory.
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from './record.js';
import { decodeBody, FRAME_HEADER, MAGIC, readHeader, type MetaRecord } from './frame.js';

export interface ScannedFrame {
  off: number;
  len: number;
  rec: MetaRecord;
  payloadAt: number;
  payloadLen: number;
}

/** Bytes that hold no readable frame. `seq` is set when an intact header names a lost put. */
export interface Region {
  off: number;
  bytes: number;
  reason: string;
  seqs: number[];
}

export interface Scan {
  frames: ScannedFrame[];
  damaged: Region[];
  tail?: Region;
  size: number;
}

const CHUNK = 1 << 20;

class Window {
  private start = 0;
  private filled = 0;
  private buf = Buffer.alloc(0);

  constructor(private readonly fh: FileHandle, readonly size: number) {}

  /**
   * Bytes [pos, pos+len) of the file; len must not reach past its end. The answer is valid
   * until the next call: one buffer is reused, so the allocator is not left holding a heap of
   * freed chunks after a large log was read.
   */
  async get(pos: number, len: number): Promise<Buffer> {
    if (pos >= this.start && pos + len <= this.start + this.filled) return this.buf.subarray(pos - this.start, pos - this.start + len);
    const want = Math.min(Math.max(len, CHUNK), this.size - pos);
    if (want > this.buf.length) this.buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(this.buf, got, want - got, pos + got);
      if (bytesRead === 0) throw new Error(`log shrank while being read (at byte ${pos + got})`);
      got += bytesRead;
    }
    this.start = pos;
    this.filled = want;
    return this.buf.subarray(0, len);
  }

  /** The next offset ≥ `from` where a frame header holds, if any. */
  async nextHeader(from: number): Promise<number | undefined> {
    while (from + FRAME_HEADER <= this.size) {
      const chunk = await this.get(from, Math.min(CHUNK, this.size - from));
      const i = chunk.indexOf(MAGIC);
      if (i < 0) {
        from += Math.max(1, chunk.length - (MAGIC.length - 1));
        continue;
      }
      const at = from + i;
      if (at + FRAME_HEADER > this.size) return undefined;
      if (readHeader(await this.get(at, FRAME_HEADER))) return at;
      from = at + 1;
    }
    return undefined;
  }
}

export async function scanLog(fh: FileHandle, size: number): Promise<Scan> {
  const w = new Window(fh, size);
  const out: Scan = { frames: [], damaged: [], size };
  let pos = 0;
  while (pos < size) {
    if (size - pos < FRAME_HEADER) {
      out.tail = { off: pos, bytes: size - pos, reason: 'cut-off frame header', seqs: [] };
      break;
    }
    const h = readHeader(await w.get(pos, FRAME_HEADER));
    if (!h) {
      const next = await w.nextHeader(pos + 1);
      const region = { off: pos, bytes: (next ?? size) - pos, reason: 'unreadable frame header', seqs: [] };
      if (next === undefined) {
        out.tail = region;
        break;
      }
      out.damaged.push(region);
      pos = next;
      continue;
    }
    const end = pos + FRAME_HEADER + h.length;
    const seqs = h.seq > 0 ? [h.seq] : [];
    if (end > size) {
      out.tail = { off: pos, bytes: size - pos, reason: 'cut-off frame body', seqs };
      break;
    }
    const body = await w.get(pos + FRAME_HEADER, h.length);
    if (crc32(body) !== h.bodyCrc) {
      const region = { off: pos, bytes: end - pos, reason: 'checksum mismatch', seqs };
      if (end === size) out.tail = region;
      else out.damaged.push(region);
      pos = end;
      continue;
    }
    const d = decodeBody(body, h, pos);
    out.frames.push({ off: pos, len: end - pos, rec: d.rec, payloadAt: d.payloadAt, payloadLen: d.payloadLen });
    pos = end;
  }
  return out;
}
