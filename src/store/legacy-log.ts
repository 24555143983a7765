// Logs written in format 1 (record.ts) are migrated to format 2 (frame.ts) at open: every
// readable record is re-framed in order, so replay stays the one in topic-log.ts. A damaged
// format-1 frame costs that frame too: the reader resynchronises on the next `{"k":"` whose
// 8-byte header (length, CRC) holds — JSON text cannot hold that sequence inside a string, so
// it starts a record or nothing. Format 1 had no seq file; the migrated log gets one.
import { open, readFile, rename, link } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir, unlinkIfExists, writeAll } from './fsutil.js';
import { crc32, decodeRecords, type LogRecord } from './record.js';
import { encodeFrame, MAGIC, readHeader } from './frame.js';

export interface Format1 {
  records: LogRecord[];
  /** Unreadable regions followed by readable frames. */
  damaged: { off: number; bytes: number }[];
  tail?: { off: number; bytes: number };
}

const RECORD_START = Buffer.from('{"k":"');
const V1_HEADER = 8;

/**
 * Format 2 starts with its magic; format 1 with a frame whose length and CRC hold. A file that
 * starts with neither is damaged at its start: it is format 2 if a format-2 header is found
 * anywhere in it (the scan then resynchronises), else format 1.
 */
export async function isFormat1(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size === 0) return false;
    const head = Buffer.alloc(Math.min(size, V1_HEADER));
    await fh.read(head, 0, head.length, 0);
    if (head.length >= MAGIC.length && head.subarray(0, MAGIC.length).equals(MAGIC)) return false;
    if (head.length === V1_HEADER) {
      const len = head.readUInt32LE(0);
      if (len > 0 && len <= size - V1_HEADER) {
        const body = Buffer.alloc(len);
        await fh.read(body, 0, len, V1_HEADER);
        if (crc32(body) === head.readUInt32LE(4)) return true;
      }
    }
    const all = Buffer.alloc(size);
    await fh.read(all, 0, size, 0);
    for (let i = all.indexOf(MAGIC); i >= 0; i = all.indexOf(MAGIC, i + 1)) if (readHeader(all, i)) return false;
    return true;
  } finally {
    await fh.close();
  }
}

function nextFrame1(buf: Buffer, from: number): number | undefined {
  for (let i = buf.indexOf(RECORD_START, from + V1_HEADER); i >= 0; i = buf.indexOf(RECORD_START, i + 1)) {
    const start = i - V1_HEADER;
    const len = buf.readUInt32LE(start);
    if (len > 0 && i + len <= buf.length && crc32(buf.subarray(i, i + len)) === buf.readUInt32LE(start + 4)) return start;
  }
  return undefined;
}

export function decodeFormat1(buf: Buffer): Format1 {
  const out: Format1 = { records: [], damaged: [] };
  let off = 0;
  for (;;) {
    const d = decodeRecords(buf.subarray(off));
    out.records.push(...d.records);
    const good = off + d.goodBytes;
    if (good >= buf.length) return out;
    const next = nextFrame1(buf, good);
    if (next === undefined) {
      out.tail = { off: good, bytes: buf.length - good };
      return out;
    }
    out.damaged.push({ off: good, bytes: next - good });
    off = next;
  }
}

/**
 * Rewrites `path` in format 2, durably (temp file, fsync, rename, fsync the directory). When
 * anything was unreadable the format-1 file is kept as `keepAs` (hard link) for inspection.
 */
export async function migrateFormat1(path: string, keepAs: string): Promise<Format1> {
  const f = decodeFormat1(await readFile(path));
  const tmp = `${path}.compact-tmp`;
  const out = await open(tmp, 'w', 0o600);
  try {
    let chunks: Buffer[] = [];
    let pending = 0;
    for (const rec of f.records) {
      const frame = encodeFrame(rec);
      chunks.push(frame);
      pending += frame.length;
      if (pending >= 1 << 20) {
        await writeAll(out, Buffer.concat(chunks));
        chunks = [];
        pending = 0;
      }
    }
    await writeAll(out, Buffer.concat(chunks));
    await out.sync();
  } finally {
    await out.close();
  }
  if (f.damaged.length > 0 || f.tail) {
    try {
      await link(path, keepAs);
    } catch (e) {
      await unlinkIfExists(tmp);
      throw e;
    }
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
  return f;
}
