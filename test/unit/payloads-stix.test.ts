// STIX 2.1 payload validation over the real OASIS examples and ATT&CK for ICS, with the
// OASIS JSON schemas (Ajv, draft 2020-12) as an oracle on the examples and broken copies.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parseStixPayload, stixObjectError } from '../../src/payloads/index.js';
import { valueOf, isFail } from '../helpers/result.js';
import { ATTACK_ICS_FILE, STIX_EXAMPLES, STIX_SCHEMAS, readDataText } from '../../src/devgrid/data-files.js';

// The OASIS schemas and examples ship as test fixtures (test/fixtures/stix2-json-schemas/).
const EXAMPLES = STIX_EXAMPLES;
const SCHEMAS = STIX_SCHEMAS;
const SCHEMA_BASE = 'http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/';

type Obj = Record<string, unknown>;
const read = (p: string): string => readFileSync(p, 'utf8');
const exampleFiles = [
  ...readdirSync(EXAMPLES).filter((f) => f.endsWith('.json')),
  ...readdirSync(join(EXAMPLES, 'threat-reports')).map((f) => `threat-reports/${f}`),
];

// ajv-formats is CommonJS: under NodeNext the plugin function is its `.default`.
const addFormats = addFormatsModule.default;
const ajv = new Ajv2020({ strict: false, unicodeRegExp: false, logger: false });
addFormats(ajv);
for (const dir of readdirSync(SCHEMAS)) {
  for (const f of readdirSync(join(SCHEMAS, dir))) ajv.addSchema(JSON.parse(read(join(SCHEMAS, dir, f))));
}
/** `type` picks the schema of a single object (its own type may be the thing broken). */
function oracle(doc: Obj, type = String(doc.type)): boolean {
  const id = type === 'bundle' ? 'common/bundle.json' : `sdos/${type}.json`;
  const validate = ajv.getSchema(SCHEMA_BASE + id);
  assert.ok(validate, `no schema ${id}`);
  return validate(doc) as boolean;
}

const SCO = new Set(['ipv4-addr', 'domain-name', 'file', 'url']);
function firstSdo(doc: Obj): Obj {
  const objs = (doc.type === 'bundle' ? doc.objects : [doc]) as Obj[];
  return objs.find((o) => !SCO.has(o.type as string) && o.type !== 'marking-definition')!;
}

/** Deliberately broken copies: each must be refused by both validators. */
const BREAKS: Record<string, (o: Obj) => void> = {
  'missing id': (o) => { delete o.id; },
  'bad id': (o) => { o.id = `${String(o.type)}--not-a-uuid`; },
  'bad timestamp': (o) => { o.created = '2016-13-01T00:00:00.000Z'; },
  'missing spec_version': (o) => { delete o.spec_version; },
  'bad type': (o) => { o.type = 'Indicator!'; },
  'confidence out of range': (o) => { o.confidence = 101; },
  'labels not a list': (o) => { o.labels = 'malicious'; },
};

describe('parseStixPayload on the OASIS examples', () => {
  for (const f of exampleFiles) {
    test(`accepts ${f} (and so does the OASIS schema)`, () => {
      const text = read(join(EXAMPLES, f));
      const r = valueOf(parseStixPayload(text));
      const doc = JSON.parse(text) as Obj;
      assert.equal(r.kind, doc.type === 'bundle' ? 'bundle' : 'object');
      assert.equal(r.objects.length, doc.type === 'bundle' ? (doc.objects as unknown[]).length : 1);
      assert.equal(oracle(doc), true);
    });
    for (const [name, breakIt] of Object.entries(BREAKS)) {
      test(`rejects ${f} with ${name} (and so does the OASIS schema)`, () => {
        const doc = JSON.parse(read(join(EXAMPLES, f))) as Obj;
        const schemaType = String(doc.type);
        breakIt(firstSdo(doc));
        const r = parseStixPayload(JSON.stringify(doc));
        assert.equal(isFail(r), true, `${name} accepted`);
        assert.equal(oracle(doc, schemaType), false, `schema accepted ${name}`);
      });
    }
  }
});

describe('parseStixPayload on ATT&CK for ICS 18.1', () => {
  const text = readDataText(ATTACK_ICS_FILE);
  test('accepts the whole bundle (every object is 2.1, custom x-mitre-* types as SDOs)', () => {
    const r = valueOf(parseStixPayload(text));
    assert.equal(r.kind, 'bundle');
    const raw = JSON.parse(text) as { objects: Obj[] };
    assert.equal(r.objects.length, raw.objects.length);
    assert.ok(raw.objects.every((o) => o.spec_version === '2.1'));
    assert.equal(r.objects[0], (r.doc as { objects: unknown[] }).objects[0], 'objects are the parsed ones, not copies');
  });
});

const IND = {
  type: 'indicator', spec_version: '2.1', id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
  created: '2016-04-06T20:03:48.000Z', modified: '2016-04-06T20:03:48.000Z',
  pattern: "[ipv4-addr:value = '198.51.100.1']", pattern_type: 'stix', valid_from: '2016-01-01T00:00:00Z',
};
const with_ = (patch: Obj, base: Obj = IND): Obj => {
  const o: Obj = { ...base, ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete o[k];
  return o;
};

describe('stixObjectError: one rule per row', () => {
  const rows: [string, Obj, RegExp | null][] = [
    ['valid indicator', IND, null],
    ['type with --', with_({ type: 'x--y' }), /'type'/],
    ['type too short', with_({ type: 'ab', id: 'ab--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }), /'type'/],
    ['type upper case', with_({ type: 'Indicator' }), /'type'/],
    ['id of another type', with_({ id: 'malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }), /'id' must be 'indicator--<uuid>'/],
    ['uuid version 0', with_({ id: 'indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f' }), /'id'/],
    ['spec_version 2.0', with_({ spec_version: '2.0' }), /'spec_version' must be "2.1"/],
    ['missing modified', with_({ modified: undefined }), /'modified' is required/],
    ['created without Z', with_({ created: '2016-04-06T20:03:48.000+00:00' }), /'created'/],
    ['February 30th', with_({ created: '2016-02-30T20:03:48.000Z' }), /'created'/],
    ['Feb 29 in a leap year', with_({ created: '2016-02-29T20:03:48.000Z', modified: '2016-02-29T20:03:48.000Z' }), null],
    ['modified before created', with_({ modified: '2015-04-06T20:03:48.000Z' }), /earlier than 'created'/],
    ['bad valid_from', with_({ valid_from: 'yesterday' }), /'valid_from'/],
    ['missing pattern', with_({ pattern: undefined }), /'pattern' is required/],
    ['missing pattern_type', with_({ pattern_type: undefined }), /'pattern_type' is required/],
    ['confidence 50.5', with_({ confidence: 50.5 }), /'confidence'/],
    ['confidence 0', with_({ confidence: 0 }), null],
    ['labels with a number', with_({ labels: ['a', 1] }), /'labels'/],
    ['created_by_ref not an identity', with_({ created_by_ref: 'malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }), /'created_by_ref'/],
    ['object_marking_refs not markings', with_({ object_marking_refs: ['identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f'] }), /'object_marking_refs'/],
    ['granular marking without ref', with_({ granular_markings: [{ selectors: ['name'] }] }), /'granular_markings'/],
    ['kill chain phase without name', with_({ kill_chain_phases: [{ kill_chain_name: 'x' }] }), /'kill_chain_phases'/],
    ['custom x_ _ref left to its producer', with_({ x_source_ref: '' }), null],
    ['sighting_of_ref not an identifier', { ...IND, type: 'sighting', id: 'sighting--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', sighting_of_ref: 'nope' }, /'sighting_of_ref' must be an identifier/],
    ['object_refs empty', with_({ object_refs: [] }), /'object_refs'/],
    ['array instead of object', [] as unknown as Obj, /not a JSON object/],
    ['nested bundle', { type: 'bundle', id: 'bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }, /nested/],
  ];
  for (const [name, obj, want] of rows) {
    test(name, () => {
      const err = stixObjectError(obj);
      if (want === null) assert.equal(err, null);
      else assert.match(err ?? '(accepted)', want);
    });
  }
});

describe('stixObjectError: per-type requirements', () => {
  const base = { spec_version: '2.1', created: '2020-01-01T00:00:00.000Z', modified: '2020-01-01T00:00:00.000Z' };
  const id = (t: string): string => `${t}--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061`;
  const mk = (type: string, extra: Obj = {}): Obj => ({ type, id: id(type), ...base, ...extra });
  const rows: [string, Obj, RegExp | null][] = [
    ['relationship without target_ref', mk('relationship', { relationship_type: 'uses', source_ref: id('malware') }), /'target_ref' is required/],
    ['relationship complete', mk('relationship', { relationship_type: 'uses', source_ref: id('malware'), target_ref: id('tool') }), null],
    ['sighting without sighting_of_ref', mk('sighting'), /'sighting_of_ref'/],
    ['malware without is_family', mk('malware', { name: 'x' }), /'is_family'/],
    ['malware family without name', mk('malware', { is_family: true }), /'name' is required when/],
    ['malware instance without name', mk('malware', { is_family: false }), null],
    ['attack-pattern without name', mk('attack-pattern'), /'name'/],
    ['report without object_refs', mk('report', { name: 'r', published: '2020-01-01T00:00:00Z' }), /'object_refs'/],
    ['location with nothing', mk('location'), /'region', 'country'/],
    ['location by country', mk('location', { country: 'ch' }), null],
    ['observed-data with both', mk('observed-data', { first_observed: base.created, last_observed: base.created, number_observed: 1, objects: { 0: {} }, object_refs: [id('file')] }), /exactly one/],
    ['marking-definition without modified', { type: 'marking-definition', id: id('marking-definition'), spec_version: '2.1', created: base.created, definition_type: 'statement', definition: { statement: 'c' } }, null],
    ['marking-definition without definition', { type: 'marking-definition', id: id('marking-definition'), spec_version: '2.1', created: base.created }, /'definition_type'/],
    ['SCO without spec_version or created', { type: 'ipv4-addr', id: id('ipv4-addr'), value: '198.51.100.3' }, null],
    ['SCO with spec_version 2.0', { type: 'ipv4-addr', id: id('ipv4-addr'), spec_version: '2.0', value: '198.51.100.3' }, /spec_version/],
    ['custom SDO needs created', { type: 'x-acme-thing', id: id('x-acme-thing'), spec_version: '2.1', modified: base.modified }, /'created' is required/],
  ];
  for (const [name, obj, want] of rows) {
    test(name, () => {
      const err = stixObjectError(obj);
      if (want === null) assert.equal(err, null);
      else assert.match(err ?? '(accepted)', want);
    });
  }
});

describe('parseStixPayload containers', () => {
  const bundle = (objects: unknown): string => JSON.stringify({ type: 'bundle', id: 'bundle--5d0092c5-5f74-4287-9642-33f4c354e56d', objects });
  const rows: [string, string, string | RegExp][] = [
    ['bundle', bundle([IND]), 'bundle'],
    ['envelope', JSON.stringify({ more: false, objects: [IND] }), 'envelope'],
    ['envelope with next', JSON.stringify({ more: true, next: 'abc', objects: [IND, IND] }), 'envelope'],
    ['one object', JSON.stringify(IND), 'object'],
    ['not JSON', '{"type":', /not valid JSON/],
    ['JSON array', '[]', /must be a JSON object/],
    ['JSON string', '"bundle"', /must be a JSON object/],
    ['bundle with bad id', JSON.stringify({ type: 'bundle', id: 'bundle--1', objects: [IND] }), /bundle: property 'id'/],
    ['bundle without objects', JSON.stringify({ type: 'bundle', id: 'bundle--5d0092c5-5f74-4287-9642-33f4c354e56d' }), /'objects' must be a list/],
    ['bundle with no objects', bundle([]), /nothing to deliver/],
    ['envelope with bad more', JSON.stringify({ more: 'no', objects: [IND] }), /'more'/],
    ['neither', JSON.stringify({ hello: 1 }), /neither 'type'/],
    ['error names index, id and property', bundle([IND, with_({ pattern: undefined })]), /^object 1 \("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"\): property 'pattern' is required$/],
    ['single-object error names the id', JSON.stringify(with_({ valid_from: 'x' })), /^object \("indicator--8e2e.*'valid_from'/],
  ];
  for (const [name, text, want] of rows) {
    test(name, () => {
      const r = parseStixPayload(text);
      if (typeof want === 'string') {
        const v = valueOf(r);
        assert.equal(v.kind, want);
        assert.equal(v.text, text);
      } else {
        assert.equal(isFail(r), true);
        assert.match((r as { text: string }).text, want);
      }
    });
  }
  test('a long hostile id is shortened in the error text', () => {
    const r = parseStixPayload(JSON.stringify(with_({ id: 'indicator--' + 'A'.repeat(5000) })));
    assert.equal(isFail(r), true);
    assert.ok((r as { text: string }).text.length < 400);
  });
});
