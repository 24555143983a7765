// Agent: payload wrapping (XEP-0335 JSON, XML documents) and reading received payloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import xml from '@xmpp/xml';
import { parseXml, payloadElement, readPayload, splitObjects } from '../../src/agent/payloads.js';
import { unitsOf } from '../../src/agent/cli/publish.js';
import { GridError } from '../../src/agent/errors.js';

const indicator = { type: 'indicator', spec_version: '2.1', id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', pattern: "[ipv4-addr:value = '198.51.100.1']" };
const bundle = { type: 'bundle', id: 'bundle--5d0092c5-5f74-4287-9642-33f4c354e56d', objects: [indicator, { type: 'malware', id: 'malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc' }] };

test('a JS object becomes <json xmlns="urn:xmpp:json:0"> holding its JSON text', () => {
  const el = payloadElement(bundle);
  assert.equal(el.name, 'json');
  assert.equal(el.attrs.xmlns, 'urn:xmpp:json:0');
  assert.deepEqual(JSON.parse(el.getText()), bundle);
  // characters that matter in XML survive serialisation
  const tricky = payloadElement({ type: 'note', content: '<a & b>' });
  assert.match(tricky.toString(), /&lt;a &amp; b&gt;/);
});

test('an XML string is parsed into its root element (declaration and comments allowed)', () => {
  const doc = '<?xml version="1.0"?>\n<!-- x -->\n<IODEF-Document version="2.00" xmlns="urn:ietf:params:xml:ns:iodef-2.0"><Incident purpose="reporting"><IncidentID name="csirt.example">42 &amp; more</IncidentID></Incident></IODEF-Document>\n';
  const el = payloadElement(doc);
  assert.equal(el.name, 'IODEF-Document');
  assert.equal(el.getNS(), 'urn:ietf:params:xml:ns:iodef-2.0');
  assert.equal(el.getChild('Incident')!.getChildText('IncidentID'), '42 & more');
});

const badXml: [string, string][] = [
  ['unclosed', '<a><b></a>'],
  ['truncated', '<a><b/>'],
  ['two roots', '<a/><b/>'],
  ['trailing text', '<a/>junk'],
];
for (const [name, text] of badXml) {
  test(`parseXml refuses ${name}`, () => {
    assert.throws(() => parseXml(text), (e: unknown) => e instanceof GridError && e.kind === 'usage');
  });
}

test('payloadElement refuses arrays and non-objects', () => {
  assert.throws(() => payloadElement([1, 2] as never), GridError);
  assert.throws(() => payloadElement(null as never), GridError);
});

test('readPayload: JSON parsed, XML serialised, broken JSON kept as text', () => {
  assert.deepEqual(readPayload(xml('item', { id: '1' }, xml('json', { xmlns: 'urn:xmpp:json:0' }, JSON.stringify(indicator)))), indicator);
  assert.equal(readPayload(xml('item', {}, xml('x', { xmlns: 'urn:x' }, 'hi'))), '<x xmlns="urn:x">hi</x>');
  assert.equal(readPayload(xml('item', {}, xml('json', { xmlns: 'urn:xmpp:json:0' }, '{oops'))), '{oops');
});

test('splitObjects: a bundle or envelope yields its objects; one object yields itself', () => {
  assert.deepEqual(splitObjects(bundle), bundle.objects);
  assert.deepEqual(splitObjects({ objects: [indicator] }), [indicator]);
  assert.deepEqual(splitObjects(indicator), [indicator]);
});

test('unitsOf (publish): one item per file, --split per object with the STIX id as item id', () => {
  assert.equal(unitsOf(JSON.stringify(bundle), 'b.json', false).length, 1);
  const split = unitsOf(JSON.stringify(bundle), 'b.json', true);
  assert.deepEqual(split.map((u) => u.id), [indicator.id, 'malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc']);
  assert.deepEqual(unitsOf(JSON.stringify([indicator]), 'a.json', false)[0]!.payload, { objects: [indicator] });
  assert.equal(unitsOf('  <a xmlns="urn:x"/>', 'a.xml', false)[0]!.payload, '<a xmlns="urn:x"/>');
  assert.throws(() => unitsOf('hello', 'h.txt', false), /neither JSON/);
  assert.throws(() => unitsOf('{"a":', 'h.json', false), /h.json: invalid JSON/);
});
