// XML content types (IODEF 2, STIX 1.x, TAXII 1.1, application/xml), namespace resolution,
// and the item-payload entry point. Trees come from @xmpp/xml's parser, which also proves
// that its Element fits the neutral XmlNode type.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import xml from '@xmpp/xml';
import {
  CONTENT_TYPES, IODEF_NS, STIX1_NS, TAXII11_NS, builtinFilterFields, checkPayloadSize, namespaceOf,
  normaliseContentType, pubsubType, validateXmlPayload,
  type ContentType, type XmlNode,
} from '../../src/payloads/index.js';
import type { Element } from '@xmpp/xml';
import { validateItemPayload as validateXmppPayload } from '../../src/xmpp/payload-input.js';
import { ok } from '../../src/result.js';
import { valueOf, failOf, isFail } from '../helpers/result.js';

/** The XMPP door's payload element → the core's check (XEP-0335 unwrapping is the door's). */
const validateItemPayload = (contentType: ContentType, el: XmlNode) => validateXmppPayload(contentType, el as unknown as Element);

function parseXml(s: string): XmlNode {
  const p = new xml.Parser();
  let root: xml.Element | undefined;
  let error: unknown;
  p.on('start', (el: xml.Element) => { root = el; });
  p.on('element', (el: xml.Element) => { root!.append(el); });
  p.on('error', (e: unknown) => { error = e; });
  p.write(s);
  p.end();
  if (error || !root) throw error ?? new Error('no root element');
  return root; // an ltx Element used as XmlNode: checked by the compiler here
}

// RFC 7970 §7.1 "Minimal Example", namespace declarations as there (schemaLocation omitted).
const IODEF_MIN = `<IODEF-Document version="2.00" xml:lang="en" xmlns="${IODEF_NS}">
  <Incident purpose="reporting" restriction="private">
    <IncidentID name="csirt.example.com">492382</IncidentID>
    <GenerationTime>2015-07-18T09:00:00-05:00</GenerationTime>
    <Contact type="organization" role="creator">
      <Email><EmailTo>contact@csirt.example.com</EmailTo></Email>
    </Contact>
  </Incident>
</IODEF-Document>`;

const iodef = (edit: (s: string) => string): string => edit(IODEF_MIN);
const IODEF = 'application/iodef+xml';

describe('IODEF 2 (RFC 7970)', () => {
  const rows: [string, string, RegExp | null][] = [
    ['the RFC 7970 minimal example', IODEF_MIN, null],
    ['prefixed names', `<iodef:IODEF-Document version="2.00" xmlns:iodef="${IODEF_NS}"><iodef:Incident purpose="watch"><iodef:IncidentID name="a.example">1</iodef:IncidentID><iodef:GenerationTime>2015-07-18T14:00:00Z</iodef:GenerationTime><iodef:Contact type="person" role="creator"/></iodef:Incident></iodef:IODEF-Document>`, null],
    ['IODEF 1.0 namespace', iodef((s) => s.replace('iodef-2.0', 'iodef-1.0')), /namespace urn:ietf:params:xml:ns:iodef-2\.0/],
    ['version 1.00', iodef((s) => s.replace('version="2.00"', 'version="1.00"')), /'version' must be "2\.00"/],
    ['another root', `<Report xmlns="${IODEF_NS}"/>`, /<IODEF-Document>/],
    ['no Incident', `<IODEF-Document version="2.00" xmlns="${IODEF_NS}"/>`, /at least one <Incident>/],
    ['Incident in a foreign namespace', iodef((s) => s.replace('<Incident ', '<Incident xmlns="urn:other" ')), /at least one <Incident>/],
    ['no purpose', iodef((s) => s.replace('purpose="reporting" ', '')), /'purpose' is required/],
    ['unknown purpose', iodef((s) => s.replace('reporting', 'gossip')), /'purpose' has unknown value/],
    ['no IncidentID', iodef((s) => s.replace(/<IncidentID.*<\/IncidentID>/, '')), /<IncidentID> is required/],
    ['IncidentID without name', iodef((s) => s.replace(' name="csirt.example.com"', '')), /'name' attribute/],
    ['no GenerationTime', iodef((s) => s.replace(/<GenerationTime>.*<\/GenerationTime>/, '')), /<GenerationTime> is required/],
    ['GenerationTime not a date', iodef((s) => s.replace('2015-07-18T09:00:00-05:00', 'last tuesday')), /xs:dateTime/],
    ['no Contact', iodef((s) => s.replace(/<Contact[\s\S]*<\/Contact>/, '')), /at least one <Contact>/],
    ['Contact without role', iodef((s) => s.replace(' role="creator"', '')), /'role' and 'type'/],
  ];
  for (const [name, text, want] of rows) {
    test(name, () => {
      const r = validateXmlPayload(IODEF, parseXml(text));
      if (want === null) assert.deepEqual(r, ok(undefined));
      else assert.match(failOf(r).text ?? '', want);
    });
  }
  test('namespace inherited from the enclosing <item>', () => {
    const root = parseXml(IODEF_MIN.replace(` xmlns="${IODEF_NS}"`, ''));
    assert.equal(isFail(validateXmlPayload(IODEF, root)), true);
    const item: XmlNode = { name: 'item', attrs: { xmlns: IODEF_NS }, children: [root] };
    assert.deepEqual(validateXmlPayload(IODEF, root, { ancestors: [item] }), ok(undefined));
  });
});

describe('STIX 1.x, TAXII 1.1 and application/xml', () => {
  const STIX1 = 'application/stix+xml;version=1.2';
  const TAXII = 'application/taxii+xml;version=1.1';
  const block = (inner: string): string => `<taxii_11:Content_Block xmlns:taxii_11="${TAXII11_NS}">${inner}</taxii_11:Content_Block>`;
  const binding = '<taxii_11:Content_Binding binding_id="urn:stix.mitre.org:xml:1.1.1"/>';
  const content = `<taxii_11:Content><stix:STIX_Package xmlns:stix="${STIX1_NS}"/></taxii_11:Content>`;
  const rows: [string, string, string, { payloadNamespace?: string }, RegExp | null][] = [
    ['STIX_Package', STIX1, `<stix:STIX_Package xmlns:stix="${STIX1_NS}" id="example:Package-1" version="1.2"/>`, {}, null],
    ['STIX_Package by default namespace', STIX1, `<STIX_Package xmlns="${STIX1_NS}"/>`, {}, null],
    ['STIX 1 wrong root', STIX1, `<stix:Indicator xmlns:stix="${STIX1_NS}"/>`, {}, /<STIX_Package>/],
    ['STIX 1 wrong namespace', STIX1, '<STIX_Package xmlns="http://stix.mitre.org/stix-2"/>', {}, /namespace http:\/\/stix\.mitre\.org\/stix-1/],
    ['STIX 1 undeclared prefix', STIX1, '<stix:STIX_Package/>', {}, /no namespace/],
    ['Content_Block', TAXII, block(binding + content), {}, null],
    ['Content_Block without binding', TAXII, block(content), {}, /<Content_Binding>/],
    ['Content_Binding without binding_id', TAXII, block('<taxii_11:Content_Binding/>' + content), {}, /binding_id/],
    ['Content_Block without Content', TAXII, block(binding), {}, /<Content>/],
    ['TAXII 1.0 namespace', TAXII, `<Content_Block xmlns="http://taxii.mitre.org/messages/taxii_xml_binding-1"/>`, {}, /Content_Block/],
    ['application/xml in the declared namespace', 'application/xml', '<alert xmlns="urn:example:alerts"><x/></alert>', { payloadNamespace: 'urn:example:alerts' }, null],
    ['application/xml elsewhere', 'application/xml', '<alert xmlns="urn:example:other"/>', { payloadNamespace: 'urn:example:alerts' }, /urn:example:alerts/],
    ['application/xml without declared namespace', 'application/xml', '<alert xmlns="urn:example:alerts"/>', {}, /payload_namespace/],
    ['JSON content type is not XML', 'application/stix+json;version=2.1', '<a/>', {}, /not an XML content type/],
  ];
  for (const [name, ct, text, opts, want] of rows) {
    test(name, () => {
      const r = validateXmlPayload(ct, parseXml(text), opts);
      if (want === null) assert.deepEqual(r, ok(undefined));
      else assert.match(failOf(r).text ?? '', want);
    });
  }
});

describe('namespaceOf', () => {
  const root = parseXml('<a xmlns="urn:a" xmlns:p="urn:p"><p:b><c/><d xmlns=""/><xml:e/></p:b></a>') as XmlNode;
  const b = root.children.find((c) => typeof c !== 'string') as XmlNode;
  const [c, d, e] = b.children.filter((x): x is XmlNode => typeof x !== 'string');
  test('default namespace on the element', () => assert.equal(namespaceOf(root), 'urn:a'));
  test('prefix declared on an ancestor', () => assert.equal(namespaceOf(b, [root]), 'urn:p'));
  test('default namespace inherited', () => assert.equal(namespaceOf(c!, [root, b]), 'urn:a'));
  test('xmlns="" un-declares', () => assert.equal(namespaceOf(d!, [root, b]), undefined));
  test('xml prefix is built in', () => assert.equal(namespaceOf(e!, [root, b]), 'http://www.w3.org/XML/1998/namespace'));
  test('no declaration anywhere', () => assert.equal(namespaceOf({ name: 'z', attrs: {}, children: [] }), undefined));
});

describe('validateItemPayload', () => {
  const STIX = 'application/stix+json;version=2.1';
  const indicator = JSON.stringify({
    type: 'indicator', spec_version: '2.1', id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
    created: '2016-04-06T20:03:48.000Z', modified: '2016-04-06T20:03:48.000Z',
    pattern: "[url:value = 'http://x.example/a&b<c']", pattern_type: 'stix', valid_from: '2016-01-01T00:00:00Z',
  });
  const json = (body: string): XmlNode => xml('json', { xmlns: 'urn:xmpp:json:0' }, body);
  test('STIX in an XEP-0335 <json> element (escaped text round-trips)', () => {
    const el = parseXml(xml('json', { xmlns: 'urn:xmpp:json:0' }, indicator).toString());
    const r = valueOf(validateItemPayload(STIX, el));
    assert.ok(r.stix, JSON.stringify(r));
    assert.equal(r.stix.kind, 'object');
    assert.equal(r.stix.objects[0]!.pattern, "[url:value = 'http://x.example/a&b<c']");
  });
  const bad: [string, XmlNode, RegExp][] = [
    ['another element', xml('stix', { xmlns: 'urn:xmpp:json:0' }, indicator), /must be <json/],
    ['json in another namespace', xml('json', { xmlns: 'urn:xmpp:json:1' }, indicator), /must be <json/],
    ['child elements', xml('json', { xmlns: 'urn:xmpp:json:0' }, xml('x')), /JSON text only/],
    ['invalid STIX', json('{"type":"indicator"}'), /'id'/],
    ['not JSON', json('<nope>'), /not valid JSON/],
  ];
  for (const [name, el, want] of bad) {
    test(`rejects ${name} as invalid-payload`, () => {
      const r = failOf(validateItemPayload(STIX, el));
      assert.equal(r.fail, 'invalid-payload');
      assert.match(r.text ?? '', want);
    });
  }
  test('XML content types go through validateXmlPayload', () => {
    assert.deepEqual(validateItemPayload(IODEF, parseXml(IODEF_MIN)), ok({}));
    const r = validateItemPayload(IODEF, parseXml(`<IODEF-Document xmlns="${IODEF_NS}"/>`));
    assert.equal(isFail(r) ? r.fail : '', 'invalid-payload');
  });
});

describe('content types', () => {
  const table: [ContentType, string | undefined][] = [
    ['application/stix+json;version=2.1', 'urn:xmpp:json:0'],
    ['application/iodef+xml', IODEF_NS],
    ['application/stix+xml;version=1.2', 'http://stix.mitre.org/stix-1'],
    ['application/taxii+xml;version=1.1', 'http://taxii.mitre.org/messages/taxii_xml_binding-1.1'],
    ['application/xml', 'urn:example:alerts'],
  ];
  for (const [ct, type] of table) test(`pubsub#type of ${ct}`, () => assert.equal(pubsubType(ct, 'urn:example:alerts'), type));
  test('application/xml without a declared namespace has no pubsub#type', () => assert.equal(pubsubType('application/xml'), undefined));
  test('CONTENT_TYPES lists the five of §5', () => assert.deepEqual([...CONTENT_TYPES].sort(), table.map(([c]) => c).sort()));
  test('only STIX 2.1 has built-in filter fields', () => {
    assert.deepEqual(builtinFilterFields('application/stix+json;version=2.1'),
      ['type', 'id', 'spec_version', 'labels', 'tlp', 'min_confidence', 'created_by_ref', 'pattern_type', 'kill_chain_phase']);
    for (const [ct] of table.slice(1)) assert.deepEqual(builtinFilterFields(ct), []);
  });
  test('normaliseContentType', () => {
    assert.equal(normaliseContentType('Application/STIX+JSON; Version=2.1'), 'application/stix+json;version=2.1');
    assert.equal(normaliseContentType('application/json'), undefined);
  });
  test('checkPayloadSize', () => {
    assert.equal(checkPayloadSize(262144, 262144), null);
    const e = checkPayloadSize(262145, 262144);
    assert.equal(e?.fail, 'payload-too-big');
    assert.match(e!.text ?? '', /262145 bytes.*262144/);
  });
});
