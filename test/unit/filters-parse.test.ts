// parseFilter: every built-in field, declared fields, and the errors that name the field.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { checkDeclaredFields, filterFieldSpecs, parseFilter } from '../../src/filters/index.js';
import { valueOf, failOf, isFail } from '../helpers/result.js';

const STIX = { contentType: 'application/stix+json;version=2.1', filterFields: { location: 'x_location', domain: 'x_geo.domain' } };
const IDENT = 'identity--f431f809-377b-45e0-aa1c-6a4751cae5ff';
const IND = 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f';

describe('parseFilter accepts', () => {
  const rows: [string, Record<string, string[]>, Record<string, string[]>][] = [
    ['type', { type: ['Indicator', 'x-mitre-tactic'] }, { type: ['indicator', 'x-mitre-tactic'] }],
    ['id', { id: [IND] }, { id: [IND] }],
    ['spec_version', { spec_version: ['2.1'] }, { spec_version: ['2.1'] }],
    ['labels', { labels: ['Malicious-Activity', 'apt 1'] }, { labels: ['apt 1', 'malicious-activity'] }],
    ['tlp, all levels', { tlp: ['clear', 'WHITE', 'green', 'amber', 'Amber+Strict', 'red'] }, { tlp: ['amber', 'amber+strict', 'clear', 'green', 'red'] }],
    ['min_confidence', { min_confidence: [' 070 '] }, { min_confidence: ['70'] }],
    ['min_confidence bounds', { min_confidence: ['100'] }, { min_confidence: ['100'] }],
    ['created_by_ref', { created_by_ref: [IDENT] }, { created_by_ref: [IDENT] }],
    ['pattern_type', { pattern_type: ['STIX', 'yara'] }, { pattern_type: ['stix', 'yara'] }],
    ['kill_chain_phase', { kill_chain_phase: ['Lateral-Movement'] }, { kill_chain_phase: ['lateral-movement'] }],
    ['declared field', { location: ['Geneva', 'Bern'] }, { location: ['Bern', 'Geneva'] }],
    ['several fields', { type: ['malware'], domain: ['example.org'] }, { domain: ['example.org'], type: ['malware'] }],
    ['no fields at all', {}, {}],
  ];
  for (const [name, fields, want] of rows) {
    test(name, () => {
      assert.deepEqual(valueOf(parseFilter(fields, STIX)), want);
    });
  }
});

describe('parseFilter refuses, naming the field', () => {
  const rows: [string, Record<string, string[]>, string, RegExp][] = [
    ['unknown field', { colour: ['red'] }, 'colour', /unknown filter field 'colour'; this topic supports: type, id, .*location, domain/],
    ['no values', { type: [] }, 'type', /'type' has no value/],
    ['blank value', { labels: ['  '] }, 'labels', /empty value/],
    ['bad type', { type: ['not a type'] }, 'type', /not a STIX type/],
    ['type with --', { type: ['x--y'] }, 'type', /not a STIX type/],
    ['bad id', { id: ['indicator--1234'] }, 'id', /not a STIX identifier/],
    ['bad spec_version', { spec_version: ['latest'] }, 'spec_version', /STIX version/],
    ['bad tlp', { tlp: ['purple'] }, 'tlp', /not a TLP level/],
    ['min_confidence twice', { min_confidence: ['50', '60'] }, 'min_confidence', /exactly one value/],
    ['min_confidence 101', { min_confidence: ['101'] }, 'min_confidence', /0 to 100/],
    ['min_confidence negative', { min_confidence: ['-1'] }, 'min_confidence', /0 to 100/],
    ['min_confidence decimal', { min_confidence: ['50.5'] }, 'min_confidence', /0 to 100/],
    ['created_by_ref not an identity', { created_by_ref: [IND] }, 'created_by_ref', /identity identifier/],
    ['pattern_type with a space', { pattern_type: ['st ix'] }, 'pattern_type', /printable ASCII/],
    ['control characters', { location: ['a\u0000b'] }, 'location', /control characters/],
    ['too long', { location: ['x'.repeat(1025)] }, 'location', /longer than 1024/],
    ['too many values', { location: Array.from({ length: 257 }, (_, i) => `v${i}`) }, 'location', /more than 256/],
    ['second field bad', { type: ['malware'], tlp: ['amber', 'nope'] }, 'tlp', /"nope"/],
    ['prototype names are not fields', { constructor: ['x'] }, 'constructor', /unknown filter field/],
  ];
  for (const [name, fields, field, want] of rows) {
    test(name, () => {
      const r = failOf(parseFilter(fields, STIX));
      assert.equal(r.fail, 'invalid-options');
      assert.equal(r.field, field);
      assert.match(r.text ?? '', want);
    });
  }
  test('non-STIX topics support no filter at all', () => {
    const iodef = { contentType: 'application/iodef+xml', filterFields: {} };
    const r = parseFilter({ type: ['indicator'] }, iodef);
    assert.deepEqual(isFail(r) ? [r.field, /cannot be filtered/.test(r.text ?? '')] : null, ['type', true]);
    assert.deepEqual(parseFilter({}, iodef), { ok: true, value: {} });
  });
});

describe('field specs and declared fields', () => {
  test('filterFieldSpecs lists built-ins then declared fields', () => {
    const specs = filterFieldSpecs(STIX);
    assert.deepEqual(specs.map((s) => s.name), ['type', 'id', 'spec_version', 'labels', 'tlp', 'min_confidence', 'created_by_ref', 'pattern_type', 'kill_chain_phase', 'location', 'domain']);
    const tlp = specs.find((s) => s.name === 'tlp')!;
    assert.equal(tlp.formType, 'list-multi');
    assert.deepEqual(tlp.options, ['clear', 'white', 'green', 'amber', 'amber+strict', 'red']);
    assert.equal(specs.find((s) => s.name === 'domain')!.path, 'x_geo.domain');
    assert.deepEqual(filterFieldSpecs({ contentType: 'application/xml', filterFields: { a: 'b' } }), []);
  });
  const rows: [string, Record<string, string>, string | null][] = [
    ['good declarations', { location: 'x_location', geo: 'x_geo.country' }, null],
    ['redeclared built-in', { type: 'x_type' }, 'type'],
    ['name with a dot', { 'a.b': 'x' }, 'a.b'],
    ['upper-case name', { Location: 'x' }, 'Location'],
    ['empty path', { location: '' }, 'location'],
    ['path with spaces', { location: 'x location' }, 'location'],
    ['path with empty segment', { location: 'x..y' }, 'location'],
  ];
  for (const [name, decl, field] of rows) {
    test(name, () => {
      const r = checkDeclaredFields(decl);
      assert.equal(isFail(r) ? r.field : null, field);
    });
  }
});
