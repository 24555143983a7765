// matchObject per field, TLP marking ids (checked against the OASIS schema file), release caps.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { STIX_SCHEMAS } from '../../src/devgrid/data-files.js';
import {
  TLP1_MARKINGS, TLP2_MARKINGS, matchObject, objectTlp, parseFilter, tlpAllowed,
  type Filter, type Tlp,
} from '../../src/filters/index.js';
import type { StixObject } from '../../src/payloads/index.js';
import { valueOf } from '../helpers/result.js';

const TLP1 = Object.fromEntries(Object.entries(TLP1_MARKINGS).map(([id, t]) => [t, id])) as Record<string, string>;
const TLP2 = Object.fromEntries(Object.entries(TLP2_MARKINGS).map(([id, t]) => [t, id])) as Record<string, string>;
const DECLARED = { location: 'x_location', country: 'x_geo.country', port: 'x_ports' };
const TOPIC = { contentType: 'application/stix+json;version=2.1', filterFields: DECLARED };

function f(fields: Record<string, string[]>): Filter {
  return valueOf(parseFilter(fields, TOPIC));
}

const ind: StixObject = {
  type: 'indicator', spec_version: '2.1', id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
  created: '2016-04-06T20:03:48.000Z', modified: '2016-04-06T20:03:48.000Z',
  created_by_ref: 'identity--f431f809-377b-45e0-aa1c-6a4751cae5ff',
  labels: ['Malicious-Activity', 'apt1'], confidence: 70, pattern: '[x:y = 1]', pattern_type: 'STIX', valid_from: '2016-01-01T00:00:00Z',
  kill_chain_phases: [{ kill_chain_name: 'mitre-attack', phase_name: 'Lateral-Movement' }],
  object_marking_refs: [TLP1.green!],
  x_location: 'Geneva', x_geo: [{ country: 'CH' }, { country: 'FR' }], x_ports: [443, 8443],
};
const ipv4: StixObject = { type: 'ipv4-addr', id: 'ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd', value: '198.51.100.3' };

describe('matchObject, one field at a time', () => {
  const rows: [string, Record<string, string[]>, StixObject, boolean][] = [
    ['type hit', { type: ['malware', 'indicator'] }, ind, true],
    ['type miss', { type: ['malware'] }, ind, false],
    ['id hit', { id: [ind.id] }, ind, true],
    ['id is case-sensitive', { id: [ind.id.toUpperCase().replace('INDICATOR', 'indicator')] }, ind, false],
    ['spec_version hit', { spec_version: ['2.1'] }, ind, true],
    ['spec_version miss', { spec_version: ['2.0'] }, ind, false],
    ['SCO without spec_version is 2.1', { spec_version: ['2.1'] }, ipv4, true],
    ['labels: any label, ignoring case', { labels: ['malicious-activity'] }, ind, true],
    ['labels miss', { labels: ['benign'] }, ind, false],
    ['labels on an object without labels', { labels: ['apt1'] }, ipv4, false],
    ['tlp via TLP 1.0 green', { tlp: ['green'] }, ind, true],
    ['tlp miss', { tlp: ['clear', 'amber'] }, ind, false],
    ['tlp on an unmarked object', { tlp: ['clear'] }, ipv4, false],
    ['min_confidence equal', { min_confidence: ['70'] }, ind, true],
    ['min_confidence above', { min_confidence: ['71'] }, ind, false],
    ['min_confidence without confidence', { min_confidence: ['0'] }, ipv4, false],
    ['created_by_ref hit', { created_by_ref: ['identity--f431f809-377b-45e0-aa1c-6a4751cae5ff'] }, ind, true],
    ['created_by_ref miss', { created_by_ref: ['identity--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061'] }, ind, false],
    ['pattern_type ignoring case', { pattern_type: ['stix'] }, ind, true],
    ['pattern_type miss', { pattern_type: ['yara'] }, ind, false],
    ['kill_chain_phase ignoring case', { kill_chain_phase: ['lateral-movement'] }, ind, true],
    ['kill_chain_phase miss', { kill_chain_phase: ['collection'] }, ind, false],
    ['declared field', { location: ['Bern', 'Geneva'] }, ind, true],
    ['declared field is case-sensitive', { location: ['geneva'] }, ind, false],
    ['dotted path through an array', { country: ['FR'] }, ind, true],
    ['dotted path miss', { country: ['DE'] }, ind, false],
    ['numbers compared as decimal text', { port: ['8443'] }, ind, true],
    ['declared field absent', { location: ['Geneva'] }, ipv4, false],
    ['fields AND: one fails', { type: ['indicator'], tlp: ['red'] }, ind, false],
    ['fields AND: all hold', { type: ['indicator'], tlp: ['green'], min_confidence: ['50'], labels: ['apt1'] }, ind, true],
  ];
  for (const [name, fields, obj, want] of rows) test(name, () => assert.equal(matchObject(f(fields), obj, DECLARED), want));

  test('a field the topic does not declare never matches (fail closed)', () => {
    assert.equal(matchObject({ location: ['Geneva'] }, ind, {}), false);
  });
  test('a path never walks into Object.prototype', () => {
    assert.equal(matchObject({ p: ['[object Object]'] }, ind, { p: 'constructor.prototype' }), false);
    assert.equal(matchObject({ p: ['function toString() { [native code] }'] }, ind, { p: 'toString' }), false);
  });
  test('the empty filter matches everything', () => assert.equal(matchObject({}, ipv4, {}), true));
});

describe('support objects never match by themselves', () => {
  const identity: StixObject = { type: 'identity', id: 'identity--f431f809-377b-45e0-aa1c-6a4751cae5ff', spec_version: '2.1', created: '2016-04-06T20:03:48.000Z', modified: '2016-04-06T20:03:48.000Z', name: 'ACME', object_marking_refs: [TLP1.green!] };
  test('a tlp filter does not pick an identity', () => assert.equal(matchObject(f({ tlp: ['green'] }), identity), false));
  test('unless the type names it', () => assert.equal(matchObject(f({ type: ['identity'], tlp: ['green'] }), identity), true));
});

describe('TLP marking ids', () => {
  test('TLP 1.0 ids equal those of the OASIS schema common/marking-definition.json', () => {
    const schema = JSON.parse(readFileSync(`${STIX_SCHEMAS}/common/marking-definition.json`, 'utf8'));
    const defs = schema.definitions as Record<string, { properties: { id: { enum: string[] } } }>;
    const fromSchema = Object.fromEntries(['white', 'green', 'amber', 'red'].map((c) => [defs[`tlp_${c}`]!.properties.id.enum[0], c === 'white' ? 'clear' : c]));
    assert.deepEqual(TLP1_MARKINGS, fromSchema);
  });
  test('TLP 2.0 has five levels including amber+strict', () => {
    assert.deepEqual(Object.values(TLP2_MARKINGS).sort(), ['amber', 'amber+strict', 'clear', 'green', 'red']);
  });
  const rows: [string, unknown[], Tlp | undefined][] = [
    ['TLP 1.0 white reads as clear', [TLP1.clear], 'clear'],
    ['TLP 2.0 amber+strict', [TLP2['amber+strict']], 'amber+strict'],
    ['the most restrictive wins', [TLP2.clear, TLP1.red, TLP1.green], 'red'],
    ['statement markings do not count', ['marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168'], undefined],
    ['OASIS interop example (TLP:RED plus an unknown id)', ['marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed', 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec'], 'red'],
    ['junk entries are ignored', [42, null, TLP1.amber], 'amber'],
  ];
  for (const [name, refs, want] of rows) test(name, () => assert.equal(objectTlp({ ...ipv4, object_marking_refs: refs }), want));
  test('granular markings count only when asked', () => {
    const o = { ...ind, granular_markings: [{ selectors: ['description'], marking_ref: TLP2.red }] };
    assert.equal(objectTlp(o), 'green');
    assert.equal(objectTlp(o, { granular: true }), 'red');
  });
});

describe('tlpAllowed', () => {
  const rows: [Tlp | undefined, { maxTlp?: Tlp; unmarked?: 'allow' | 'deny' }, boolean][] = [
    ['red', {}, true],
    [undefined, {}, true],
    [undefined, { unmarked: 'deny' }, false],
    [undefined, { maxTlp: 'red', unmarked: 'allow' }, true],
    ['clear', { maxTlp: 'clear' }, true],
    ['green', { maxTlp: 'clear' }, false],
    ['green', { maxTlp: 'green' }, true],
    ['amber', { maxTlp: 'green' }, false],
    ['amber', { maxTlp: 'amber+strict' }, true],
    ['amber+strict', { maxTlp: 'amber' }, false],
    ['red', { maxTlp: 'amber+strict' }, false],
  ];
  for (const [tlp, cap, want] of rows) test(`${tlp ?? 'unmarked'} under ${JSON.stringify(cap)}`, () => assert.equal(tlpAllowed(tlp, cap), want));
});
