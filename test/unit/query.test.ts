// The core query module (topics/query.ts): limits, the checks of text parameters, paging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isFail } from '../../src/result.js';
import { checkQuery, pageLimit, pageOf, parseDateTime, parseSeq, QUERY_DEFAULT_LIMIT, QUERY_MAX_LIMIT } from '../../src/topics/query.js';

test('limits: default 100, clamped to 1000, malformed refused', () => {
  assert.equal(QUERY_DEFAULT_LIMIT, 100);
  assert.equal(QUERY_MAX_LIMIT, 1000);
  assert.equal(pageLimit(undefined), 100);
  assert.equal(pageLimit(5), 5);
  assert.equal(pageLimit('0'), 0);
  assert.equal(pageLimit(1_000_000), 1000);
  for (const bad of ['', '-3', '2.5', 'x', '1e3']) assert.ok(isFail(pageLimit(bad)), bad);
});

test('after_seq and added_after: patterns, never NaN', () => {
  assert.equal(parseSeq('42'), 42);
  assert.equal(parseSeq(' 7 '), 7);
  for (const bad of ['', '-1', '1.0', '0x10', '1234567890123456']) {
    const r = parseSeq(bad);
    assert.ok(isFail(r) && r.fail === 'bad-request' && /after_seq/.test(r.text ?? ''), bad);
  }
  assert.equal(parseDateTime('2024-05-01T00:00:00Z'), Date.parse('2024-05-01T00:00:00Z'));
  assert.equal(parseDateTime('2024-05-01T02:00:00.5+02:00'), Date.parse('2024-05-01T00:00:00.500Z'));
  for (const bad of ['2024-05-01', '2024-05-01T00:00:00', 'NaN', '2024-02-31T25:00:00Z']) assert.ok(isFail(parseDateTime(bad)), bad);
});

test('checkQuery gathers the checked query', () => {
  const r = checkQuery({ filter: { type: ['indicator'] }, afterSeq: '3', addedAfter: '2024-05-01T00:00:00Z', limit: 5000 });
  assert.deepEqual(r, { ok: true, value: { filter: { type: ['indicator'] }, afterSeq: 3, addedAfter: Date.parse('2024-05-01T00:00:00Z'), limit: 1000 } });
  assert.deepEqual(checkQuery({}), { ok: true, value: { filter: {}, limit: 100 } });
  assert.ok(isFail(checkQuery({ addedAfter: 'soon' })));
});

test('pageOf: after, before (the end when empty), index, max; an unknown marker is item-not-found', () => {
  const list = ['a', 'b', 'c', 'd', 'e'];
  const id = (s: string) => s;
  assert.deepEqual(pageOf(list, id, { max: 2 }, 10), { page: ['a', 'b'], first: 0 });
  assert.deepEqual(pageOf(list, id, { after: 'b', max: 2 }, 10), { page: ['c', 'd'], first: 2 });
  assert.deepEqual(pageOf(list, id, { before: '', max: 2 }, 10), { page: ['d', 'e'], first: 3 });
  assert.deepEqual(pageOf(list, id, { before: 'c' }, 10), { page: ['a', 'b'], first: 0 });
  assert.deepEqual(pageOf(list, id, { index: 4 }, 10), { page: ['e'], first: 4 });
  const r = pageOf(list, id, { after: 'z' }, 10);
  assert.ok(isFail(r) && r.fail === 'item-not-found');
});
