// Agent: filters → form fields (PROTOCOL §5 Clark names, §7 plain names) and CLI specs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterFields, filterOfFields, normaliseFilter, parseFilterSpecs } from '../../src/agent/filters.js';
import { GridError } from '../../src/agent/errors.js';

test('filterFields: Clark names for subscribe_options, as in PROTOCOL §5', () => {
  const fields = filterFields({ type: ['indicator', 'malware'], tlp: ['green', 'clear'], min_confidence: 70 }, 'clark');
  assert.deepEqual(fields.map((f) => [f.var, f.values]), [
    ['{urn:xmpp-grid:0}filter.type', ['indicator', 'malware']],
    ['{urn:xmpp-grid:0}filter.tlp', ['green', 'clear']],
    ['{urn:xmpp-grid:0}filter.min_confidence', ['70']],
  ]);
});

test('filterFields: plain filter.<name> for grid forms; declared fields pass through', () => {
  const fields = filterFields({ location: ['Berlin'] }, 'plain');
  assert.deepEqual(fields.map((f) => [f.var, f.values]), [['filter.location', ['Berlin']]]);
  assert.deepEqual(filterFields(undefined, 'plain'), []);
});

const bad: [string, Record<string, unknown>, RegExp][] = [
  ['empty list', { type: [] }, /"type" has no value/],
  ['blank strings', { tlp: [' ', ''] }, /"tlp" has no value/],
  ['odd name', { 'ty pe': ['x'] }, /not a field name/],
];
for (const [name, filter, msg] of bad) {
  test(`normaliseFilter refuses ${name}`, () => {
    assert.throws(() => normaliseFilter(filter as never), (e: unknown) => e instanceof GridError && e.kind === 'usage' && msg.test(e.message));
  });
}

test('normaliseFilter trims and stringifies; undefined fields are left out', () => {
  assert.deepEqual(normaliseFilter({ type: [' indicator '], min_confidence: 5, labels: undefined }), { type: ['indicator'], min_confidence: ['5'] });
});

test('filterOfFields reads Clark and plain names back, ignoring others', () => {
  const m = new Map<string, string[]>([['{urn:xmpp-grid:0}filter.type', ['a']], ['filter.tlp', ['green']], ['pubsub#x', ['1']], ['{urn:xmpp-grid:0}subtopic', ['t~1']]]);
  assert.deepEqual(filterOfFields(m), { type: ['a'], tlp: ['green'] });
});

test('parseFilterSpecs: field=v1,v2, repeated fields add values', () => {
  assert.deepEqual(parseFilterSpecs(['type=indicator,malware', 'tlp=green', 'type=tool']), { type: ['indicator', 'malware', 'tool'], tlp: ['green'] });
  assert.equal(parseFilterSpecs([]), undefined);
});

for (const spec of ['type', '=x', 'type=', 'type=,,']) {
  test(`parseFilterSpecs refuses "${spec}"`, () => {
    assert.throws(() => parseFilterSpecs([spec]), GridError);
  });
}
