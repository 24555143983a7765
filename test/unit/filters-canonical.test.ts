// Canonical form and hash of filters: the §5 test vector and the rules one by one.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  canonicalise, canonicalJson, filterHash, parseSubtopicNode, subtopicNode,
} from '../../src/filters/index.js';

const VECTOR_JSON = '{"min_confidence":["70"],"tlp":["clear","green"],"type":["indicator","malware"]}';
const sha16 = (s: string): string => createHash('sha256').update(Buffer.from(s, 'utf8')).digest('hex').slice(0, 16);

describe('docs/protocol.md §5 test vector', () => {
  const filter = { type: ['indicator', 'malware'], tlp: ['green', 'clear'], min_confidence: ['70'] };
  test('canonical JSON', () => assert.equal(canonicalJson(filter), VECTOR_JSON));
  test('hash 853495ea38be367e', () => assert.equal(filterHash(filter), '853495ea38be367e'));
  test('subtopic node', () => assert.equal(subtopicNode('threat-intel/indicators', filterHash(filter)), 'threat-intel/indicators~853495ea38be367e'));
  test('the same filter written differently hashes the same', () => {
    const messy = { tlp: [' WHITE', 'Green', 'clear'], min_confidence: ['070'], type: ['malware', ' Indicator ', 'indicator', 'MALWARE'] };
    assert.equal(canonicalJson(messy), VECTOR_JSON);
    assert.equal(filterHash(messy), '853495ea38be367e');
  });
});

describe('canonicalisation rules', () => {
  const rows: [string, Record<string, string[]>, string][] = [
    ['keys sorted, values sorted and de-duplicated', { type: ['tool', 'malware', 'tool'], labels: ['b', 'a'] }, '{"labels":["a","b"],"type":["malware","tool"]}'],
    ['id keeps its case', { id: ['indicator--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F'] }, '{"id":["indicator--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F"]}'],
    ['created_by_ref keeps its case', { created_by_ref: [' identity--AB2E2D2B-17D4-4CBF-938F-98EE46B3CD3F '] }, '{"created_by_ref":["identity--AB2E2D2B-17D4-4CBF-938F-98EE46B3CD3F"]}'],
    ['declared fields keep their case, trimmed', { location: [' Zürich', 'zürich', 'Zürich '] }, '{"location":["Zürich","zürich"]}'],
    ['code-unit order, not locale order', { location: ['b', 'ä', 'B', 'a', 'Z'] }, '{"location":["B","Z","a","b","ä"]}'],
    ['only ASCII is lower-cased', { labels: ['ÄPFEL', 'İSTANBUL'] }, '{"labels":["Äpfel","İstanbul"]}'],
    ['case-insensitive built-ins', { pattern_type: ['STIX', 'Sigma'], kill_chain_phase: ['Initial-Access'], spec_version: ['2.1'] }, '{"kill_chain_phase":["initial-access"],"pattern_type":["sigma","stix"],"spec_version":["2.1"]}'],
    ['white is clear', { tlp: ['white', 'clear', 'amber+strict'] }, '{"tlp":["amber+strict","clear"]}'],
    ['integers in plain decimal', { min_confidence: ['000'] }, '{"min_confidence":["0"]}'],
    ['index-like keys stay in code-unit order', { 9: ['x'], 10: ['y'] }, '{"10":["y"],"9":["x"]}'],
    ['the empty filter', {}, '{}'],
    ['JSON escapes', { location: ['a"b\\c'] }, '{"location":["a\\"b\\\\c"]}'],
  ];
  for (const [name, filter, json] of rows) {
    test(name, () => {
      assert.equal(canonicalJson(filter), json);
      assert.equal(filterHash(filter), sha16(json), 'hash is SHA-256 of the UTF-8 canonical JSON');
    });
  }
  test('canonicalise is idempotent and returns sorted arrays', () => {
    const once = canonicalise({ type: ['Malware', 'indicator'], location: ['x', 'X'] });
    assert.deepEqual(once, { location: ['X', 'x'], type: ['indicator', 'malware'] });
    assert.deepEqual(Object.keys(once), ['location', 'type']);
    assert.deepEqual(canonicalise(once), once);
  });
  test('different filters, different hashes', () => {
    assert.notEqual(filterHash({ type: ['indicator'] }), filterHash({ type: ['malware'] }));
    assert.notEqual(filterHash({ location: ['X'] }), filterHash({ location: ['x'] }));
    assert.match(filterHash({ type: ['indicator'] }), /^[0-9a-f]{16}$/);
  });
});

describe('subtopic node ids', () => {
  test('round trip', () => assert.deepEqual(parseSubtopicNode('a/b~853495ea38be367e'), { topic: 'a/b', hash: '853495ea38be367e' }));
  for (const bad of ['a/b', 'a/b~853495ea38be367', 'a/b~853495EA38BE367E', '~853495ea38be367e', 'a~b~853495ea38be367e']) {
    test(`not a subtopic: ${bad}`, () => assert.equal(parseSubtopicNode(bad), null));
  }
});
