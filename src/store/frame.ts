// Item log framing, format 2. Pure: no I/O.
//
//   header (24 bytes)                         body (length bytes)
//   magic 9E 47 4C 02 | u32 length | u64 seq | u32 crc(body) | u32 crc(header[0..20))
//   u32 meta length | meta JSON (the record without its payload) | payload UTF-8 (puts only)
//
// Why this shape: the header has its own checksum, so a damaged length can never make the
// reader skip good frames; the magic (whose last byte is the format version, and which holds a
// control character no XML or JSON text carries) lets the reader find the next frame after a
// damaged one by scanning forward; the seq in the header names what a damaged body held; the
// payload sits raw at a known place, so it can be read back by offset without parsing.
import { crc32, LogFormatError, isRecord, type LogRecord } from './record.js';

export const FORMAT_VERSION = 2;
export const MAGIC = Buffer.from([0x9e, 0x47, 0x4c, FORMAT_VERSION]);
export const FRAME_HEADER = 24;
/** No frame body is this large (payloads are limited far below); a guard on damaged headers. */
const MAX_BODY = 0x7fffffff;

/** A record as the log index keeps it: a put without its payload. */
export type MetaRecord = Exclude<LogRecord, { k: 'put' }> | Omit<Extract<LogRecord, { k: 'put' }>, 'p'>;

export interface FrameHeader {
  length: number;
  seq: number;
  bodyCrc: number;
}

export function encodeFrame(rec: LogRecord): Buffer {
  let meta: MetaRecord = rec;
  let payload = '';
  if (rec.k === 'put') {
    const { p, ...rest } = rec;
    meta = rest;
    payload = p;
  }
  const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
  const payloadBytes = Buffer.byteLength(payload, 'utf8');
  const length = 4 + metaBytes.length + payloadBytes;
  const frame = Buffer.allocUnsafe(FRAME_HEADER + length);
  MAGIC.copy(frame, 0);
  frame.writeUInt32LE(length, 4);
  frame.writeBigUInt64LE(BigInt(rec.k === 'put' ? rec.s : 0), 8);
  frame.writeUInt32LE(metaBytes.length, FRAME_HEADER);
  metaBytes.copy(frame, FRAME_HEADER + 4);
  frame.write(payload, FRAME_HEADER + 4 + metaBytes.length, 'utf8');
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER)), 16);
  frame.writeUInt32LE(crc32(frame.subarray(0, 20)), 20);
  return frame;
}

/** The header at `off` of `buf` if it is one (magic and header checksum hold), else undefined. */
export function readHeader(buf: Buffer, off = 0): FrameHeader | undefined {
  if (buf.length - off < FRAME_HEADER) return undefined;
  for (let i = 0; i < MAGIC.length; i++) if (buf[off + i] !== MAGIC[i]) return undefined;
  if (crc32(buf.subarray(off, off + 20)) !== buf.readUInt32LE(off + 20)) return undefined;
  const length = buf.readUInt32LE(off + 4);
  const seq = Number(buf.readBigUInt64LE(off + 8));
  if (length < 4 || length > MAX_BODY || !Number.isSafeInteger(seq)) return undefined;
  return { length, seq, bodyCrc: buf.readUInt32LE(off + 16) };
}

export interface DecodedBody {
  rec: MetaRecord;
  /** Where the payload starts, counted from the start of the frame. */
  payloadAt: number;
  payloadLen: number;
}

/**
 * The record in a body whose checksum already holds. A checksum that holds over content that is
 * not a known record is not damage: a newer format or a bug, so it throws.
 */
export function decodeBody(body: Buffer, header: FrameHeader, where: number): DecodedBody {
  const metaLen = body.readUInt32LE(0);
  if (4 + metaLen > body.length) throw new LogFormatError(`record at byte ${where}: meta length ${metaLen} exceeds its frame`);
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8', 4, 4 + metaLen));
  } catch {
    throw new LogFormatError(`record at byte ${where}: checksum ok but not JSON`);
  }
  const payloadAt = FRAME_HEADER + 4 + metaLen;
  const payloadLen = body.length - 4 - metaLen;
  const candidate = (v && typeof v === 'object' && (v as { k?: unknown }).k === 'put') ? { ...(v as object), p: '' } : v;
  if (!isRecord(candidate)) throw new LogFormatError(`record at byte ${where}: unknown kind or fields (written by a newer version?)`);
  if (candidate.k === 'put' && candidate.s !== header.seq) throw new LogFormatError(`record at byte ${where}: seq ${candidate.s} differs from its header's ${header.seq}`);
  if (candidate.k !== 'put' && payloadLen !== 0) throw new LogFormatError(`record at byte ${where}: a ${candidate.k} record carries a payload`);
  return { rec: v as MetaRecord, payloadAt, payloadLen };
}

/** Why a whole frame read back by offset is not the frame expected (undefined: it is). */
export function frameProblem(frame: Buffer, seq: number): string | undefined {
  const h = readHeader(frame);
  if (!h) return 'frame header unreadable';
  if (h.seq !== seq) return `frame holds seq ${h.seq}, expected ${seq}`;
  if (FRAME_HEADER + h.length !== frame.length) return 'frame length changed';
  if (crc32(frame.subarray(FRAME_HEADER)) !== h.bodyCrc) return 'checksum mismatch';
  return undefined;
}
