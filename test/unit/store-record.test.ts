import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, crc32Table, decodeRecords, encodeRecord, LogFormatError, HEADER_BYTES, type LogRecord } from '../../src/store/record.js';

test('crc32 matches the IEEE check values, table and zlib alike', () => {
  const cases: [string, number][] = [
    ['', 0],
    ['123456789', 0xcbf43926],
    ['The quick brown fox jumps over the lazy dog', 0x414fa339],
  ];
  for (const [text, want] of cases) {
    assert.equal(crc32Table(Buffer.from(text)), want, text);
    assert.equal(crc32(Buffer.from(text)), want, text);
  }
});

const recs: LogRecord[] = [
  { k: 'hw', s: 7 },
  { k: 'put', s: 8, id: 'i-1', pub: 'a@grid.test/x', ts: '2026-01-01T00:00:00Z', p: '<indicator xmlns="urn:x">✓</indicator>', max: 10 },
  { k: 'ret', id: 'i-1' },
  { k: 'trim', max: 3 },
  { k: 'purge' },
];
const whole = Buffer.concat(recs.map(encodeRecord));

test('records round-trip through their frames', () => {
  const d = decodeRecords(whole);
  assert.deepEqual(d.records, recs);
  assert.equal(d.goodBytes, whole.length);
  assert.equal(d.stopReason, undefined);
});

test('a damaged tail stops decoding at the last good frame', () => {
  const lastStart = whole.length - encodeRecord(recs[4]!).length;
  const flipped = Buffer.from(whole);
  flipped[lastStart + HEADER_BYTES] ^= 1;
  const cases: [string, Buffer, number, RegExp][] = [
    ['cut in a header', whole.subarray(0, lastStart + 3), lastStart, /header/],
    ['cut in a body', whole.subarray(0, whole.length - 1), lastStart, /body/],
    ['bit flip', flipped, lastStart, /checksum/],
    ['zeros after', Buffer.concat([whole, Buffer.alloc(64)]), whole.length, /empty/],
    ['huge length', Buffer.concat([whole, Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5])]), whole.length, /body/],
  ];
  for (const [what, buf, good, reason] of cases) {
    const d = decodeRecords(buf);
    assert.equal(d.goodBytes, good, what);
    assert.match(d.stopReason ?? '', reason, what);
    assert.equal(d.records.length, good === whole.length ? 5 : 4, what);
  }
});

test('a frame with a valid checksum but unknown content throws instead of being cut', () => {
  const bad: unknown[] = [{ k: 'put', s: 0, id: 'x', pub: 'p', ts: 't', p: '' }, { k: 'nope' }, [1, 2], { k: 'ret' }];
  for (const rec of bad) {
    const body = Buffer.from(JSON.stringify(rec));
    const frame = Buffer.alloc(HEADER_BYTES + body.length);
    frame.writeUInt32LE(body.length, 0);
    frame.writeUInt32LE(crc32(body), 4);
    body.copy(frame, HEADER_BYTES);
    assert.throws(() => decodeRecords(Buffer.concat([whole, frame])), LogFormatError, JSON.stringify(rec));
  }
});
