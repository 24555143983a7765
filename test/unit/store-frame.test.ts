import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBody, encodeFrame, frameProblem, FRAME_HEADER, MAGIC, readHeader } from '../../src/store/frame.js';
import { LogFormatError, type LogRecord } from '../../src/store/record.js';
import { decodeSeq, encodeSeq } from '../../src/store/seq-file.js';

const put: LogRecord = { k: 'put', s: 8, id: 'i-1', pub: 'a@grid.test/x', ts: '2026-01-01T00:00:00Z', p: '<indicator xmlns="urn:x">✓</indicator>', max: 10 };

test('a put frame: header names its seq, the payload sits raw at the end, the record round-trips', () => {
  const f = encodeFrame(put);
  assert.ok(f.subarray(0, 4).equals(MAGIC));
  const h = readHeader(f)!;
  assert.equal(h.seq, 8);
  assert.equal(FRAME_HEADER + h.length, f.length);
  const d = decodeBody(f.subarray(FRAME_HEADER), h, 0);
  const { p, ...meta } = put as Extract<LogRecord, { k: 'put' }>;
  assert.deepEqual(d.rec, meta);
  assert.equal(f.toString('utf8', d.payloadAt, d.payloadAt + d.payloadLen), p);
  assert.equal(frameProblem(f, 8), undefined);
});

test('every single-bit flip of a frame is caught by a checksum', () => {
  const f = encodeFrame({ k: 'hw', s: 3 });
  for (let i = 0; i < f.length * 8; i++) {
    const g = Buffer.from(f);
    g[i >> 3]! ^= 1 << (i & 7);
    assert.ok(frameProblem(g, 0) !== undefined, `bit ${i}`);
  }
});

test('a header is refused unless magic and header checksum hold', () => {
  const f = encodeFrame(put);
  for (const at of [0, 3, 5, 9, 17, 21]) {
    const g = Buffer.from(f);
    g[at]! ^= 0x01;
    assert.equal(readHeader(g), undefined, `byte ${at}`);
  }
  assert.equal(readHeader(f.subarray(0, FRAME_HEADER - 1)), undefined);
});

test('a good checksum over an unknown record throws rather than being skipped', () => {
  const f = encodeFrame({ k: 'future' } as unknown as LogRecord);
  assert.throws(() => decodeBody(f.subarray(FRAME_HEADER), readHeader(f)!, 0), LogFormatError);
});

test('the seq file round-trips and refuses damage', () => {
  assert.deepEqual(decodeSeq(encodeSeq(2 ** 40)), { seq: 2 ** 40 });
  const b = encodeSeq(201);
  b[5]! ^= 1;
  assert.ok('problem' in decodeSeq(b));
  assert.deepEqual(decodeSeq(Buffer.alloc(0)), { missing: true });
});
