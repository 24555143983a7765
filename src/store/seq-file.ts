// The per-topic sequence high-water mark, kept beside the log (`<log>.seq`) so that damage to
// the log can never lower it: a seq once acknowledged is never handed out again.
//
// 16 bytes, overwritten in place (no size change, so fdatasync writes one block):
//   magic 9E 53 51 01 | u64 LE seq | u32 crc32 of the first 12 bytes
// Written after the log's fsync and before the publish is acknowledged.
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir, isCode } from './fsutil.js';
import { crc32 } from './record.js';

export const SEQ_SUFFIX = '.seq';
const MAGIC = Buffer.from([0x9e, 0x53, 0x51, 0x01]);
const SIZE = 16;

export type SeqRead = { seq: number } | { missing: true } | { problem: string };

export function encodeSeq(seq: number): Buffer {
  const b = Buffer.alloc(SIZE);
  MAGIC.copy(b, 0);
  b.writeBigUInt64LE(BigInt(seq), 4);
  b.writeUInt32LE(crc32(b.subarray(0, 12)), 12);
  return b;
}

export function decodeSeq(b: Buffer): SeqRead {
  // Created but never written: a crash before the first acknowledgement of the topic.
  if (b.length === 0) return { missing: true };
  if (b.length !== SIZE) return { problem: `size ${b.length}, expected ${SIZE}` };
  if (!b.subarray(0, 4).equals(MAGIC)) return { problem: 'bad magic' };
  if (crc32(b.subarray(0, 12)) !== b.readUInt32LE(12)) return { problem: 'checksum mismatch' };
  const seq = Number(b.readBigUInt64LE(4));
  return Number.isSafeInteger(seq) ? { seq } : { problem: 'seq out of range' };
}

export async function readSeqFile(path: string): Promise<SeqRead> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if (isCode(e, 'ENOENT')) return { missing: true };
    throw e;
  }
  try {
    const b = Buffer.alloc(SIZE + 1);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    return decodeSeq(b.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** Overwrites the seq file with `seq` and makes it durable (a new file's name too). */
export async function writeSeqFile(path: string, seq: number): Promise<void> {
  let created = false;
  let fh;
  try {
    fh = await open(path, 'r+');
  } catch (e) {
    if (!isCode(e, 'ENOENT')) throw e;
    fh = await open(path, 'w', 0o600);
    created = true;
  }
  try {
    const b = encodeSeq(seq);
    let off = 0;
    while (off < SIZE) off += (await fh.write(b, off, SIZE - off, off)).bytesWritten;
    await fh.datasync();
  } finally {
    await fh.close();
  }
  if (created) await fsyncDir(dirname(path));
}
