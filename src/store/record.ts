// Log records, CRC-32, and the format-1 framing: [u32 LE length][u32 LE crc32 of the JSON
// bytes][JSON bytes]. Format 1 is only read now (an old log is migrated to format 2 at open,
// see frame.ts and legacy-log.ts). Pure: no I/O.
import zlib from 'node:zlib';

/** What a topic log holds. Short keys: these are written once per publish. */
export type LogRecord =
  /** A stored item; `max` (max_items at publish time) makes replay trim exactly as live did. */
  | { k: 'put'; s: number; id: string; pub: string; ts: string; p: string; max?: number }
  | { k: 'ret'; id: string }
  | { k: 'purge' }
  | { k: 'trim'; max: number }
  /** The seq high-water mark: first record of a compacted log, so it outlives its items. */
  | { k: 'hw'; s: number };

export const HEADER_BYTES = 8;

const table = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE), as zlib computes it. A checksum against torn writes, not a security check. */
export function crc32Table(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = table[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// zlib.crc32 exists from Node 20.15 / 22.2 only; it is much faster where present.
const zcrc = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
export const crc32: (buf: Uint8Array) => number = typeof zcrc === 'function' ? (b) => zcrc(b) >>> 0 : crc32Table;

export function encodeRecord(rec: LogRecord): Buffer {
  const body = Buffer.from(JSON.stringify(rec), 'utf8');
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  frame.writeUInt32LE(body.length, 0);
  frame.writeUInt32LE(crc32(body), 4);
  body.copy(frame, HEADER_BYTES);
  return frame;
}

export interface Decoded {
  records: LogRecord[];
  /** Bytes up to the end of the last good frame; anything after is torn or corrupt. */
  goodBytes: number;
  /** Why reading stopped before the end, when it did. */
  stopReason?: string;
}

export class LogFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogFormatError';
  }
}

/**
 * Reads frames until the end or the first bad one. A frame whose checksum holds but whose
 * content is not a known record is not a torn write: it throws (a newer format, or a bug).
 */
export function decodeRecords(buf: Buffer): Decoded {
  const records: LogRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < HEADER_BYTES) return { records, goodBytes: off, stopReason: 'cut-off frame header' };
    const len = buf.readUInt32LE(off);
    const sum = buf.readUInt32LE(off + 4);
    // Zero-filled tails (a size extended before its data reached disk) would pass the CRC.
    if (len === 0) return { records, goodBytes: off, stopReason: 'empty frame' };
    const end = off + HEADER_BYTES + len;
    if (end > buf.length) return { records, goodBytes: off, stopReason: 'cut-off frame body' };
    const body = buf.subarray(off + HEADER_BYTES, end);
    if (crc32(body) !== sum) return { records, goodBytes: off, stopReason: 'checksum mismatch' };
    records.push(parseRecord(body, off));
    off = end;
  }
  return { records, goodBytes: off };
}

function parseRecord(body: Buffer, off: number): LogRecord {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new LogFormatError(`record at byte ${off}: checksum ok but not JSON`);
  }
  if (!isRecord(v)) throw new LogFormatError(`record at byte ${off}: unknown kind or fields (written by a newer version?)`);
  return v;
}

const isStr = (x: unknown): x is string => typeof x === 'string';
const isSeq = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) > 0;

export function isRecord(v: unknown): v is LogRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  switch (r.k) {
    case 'put':
      return isSeq(r.s) && isStr(r.id) && isStr(r.pub) && isStr(r.ts) && isStr(r.p) && (r.max === undefined || isSeq(r.max));
    case 'ret':
      return isStr(r.id);
    case 'purge':
      return true;
    case 'trim':
      return isSeq(r.max);
    case 'hw':
      return Number.isSafeInteger(r.s) && (r.s as number) >= 0;
    default:
      return false;
  }
}
