// TLP release for XML payloads (PROTOCOL §5): IODEF 2.0 `restriction` per Incident, STIX 1.x
// TLP marking structures per object, a TAXII 1.1 block around a package, application/xml as
// unmarked. Parsed and written by the controller's real codec (ltx).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { IODEF_NS, STIX1_NS, TAXII11_NS, XmlPayload, type ContentType } from '../../src/payloads/index.js';
import type { TlpCap } from '../../src/filters/types.js';
import { xmlCodec } from '../../src/xmpp/xml-codec.js';

const GREEN: TlpCap = { maxTlp: 'green' };
const AMBER: TlpCap = { maxTlp: 'amber' };
const DENY: TlpCap = { unmarked: 'deny' };
const IODEF: ContentType = 'application/iodef+xml';
const STIX1: ContentType = 'application/stix+xml;version=1.2';

function incident(id: string, restriction?: string, inner = ''): string {
  const r = restriction === undefined ? '' : ` restriction="${restriction}"`;
  return `<Incident purpose="reporting"${r}><IncidentID name="csirt.example">${id}</IncidentID>` +
    `<GenerationTime>2015-07-18T09:00:00Z</GenerationTime><Contact type="organization" role="creator"${inner}/></Incident>`;
}
const doc = (attrs: string, ...incidents: string[]) =>
  `<IODEF-Document xmlns="${IODEF_NS}" version="2.00"${attrs}>\n  ${incidents.join('\n  ')}\n</IODEF-Document>`;

/** The IncidentIDs a node with this cap receives; null when it receives nothing. */
function incidentsFor(text: string, cap: TlpCap): string[] | null {
  const out = new XmlPayload(text, xmlCodec).cut(IODEF, cap);
  if (out === null) return null;
  const root = xmlCodec.parse(out)!;
  return (root.children.filter((c) => typeof c !== 'string' && c.name === 'Incident') as { children: unknown[] }[])
    .map((i) => ((i.children[0] as { children: string[] }).children[0]!));
}

describe('IODEF 2.0 restriction', () => {
  test('a GREEN cap keeps the green incident, cuts the red one, and keeps the document around it', () => {
    const text = doc(' restriction="green"', incident('g1'), incident('r1', 'red'), incident('g2', 'white'));
    assert.deepEqual(incidentsFor(text, GREEN), ['g1', 'g2']);
    const out = new XmlPayload(text, xmlCodec).cut(IODEF, GREEN)!;
    assert.match(out, /^<IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-2\.0" version="2\.00" restriction="green">/);
    assert.doesNotMatch(out, /r1/);
  });

  test('a document with no incident the cap releases is withheld, never sent empty', () => {
    assert.equal(incidentsFor(doc('', incident('r1', 'red')), GREEN), null);
    assert.equal(incidentsFor(doc(' restriction="red"', incident('a'), incident('b')), GREEN), null);
  });

  test('an incident without its own restriction inherits the document\'s; its own overrides it', () => {
    const text = doc(' restriction="amber"', incident('inherits'), incident('own', 'green'));
    assert.deepEqual(incidentsFor(text, GREEN), ['own']);
    assert.deepEqual(incidentsFor(text, AMBER), ['inherits', 'own']);
  });

  test('mapping: public→clear, partner/need-to-know→amber, private→red, ext-value by ext-restriction, unknown→red', () => {
    const text = doc('', incident('pub', 'public'), incident('par', 'partner'), incident('ntk', 'need-to-know'),
      incident('prv', 'private'), incident('ext-g', 'ext-value" ext-restriction="TLP:GREEN'),
      incident('ext-as', 'ext-value" ext-restriction="amber+strict'), incident('ext-x', 'ext-value" ext-restriction="company-only'),
      incident('typo', 'gren'));
    assert.deepEqual(incidentsFor(text, { maxTlp: 'clear' }), ['pub']);
    assert.deepEqual(incidentsFor(text, GREEN), ['pub', 'ext-g']);
    assert.deepEqual(incidentsFor(text, AMBER), ['pub', 'par', 'ntk', 'ext-g']);
    assert.deepEqual(incidentsFor(text, { maxTlp: 'amber+strict' }), ['pub', 'par', 'ntk', 'ext-g', 'ext-as']);
    assert.equal(incidentsFor(text, { maxTlp: 'red' })!.length, 8);
  });

  test('a restriction inside an incident counts: a red Contact keeps a green incident from a GREEN node', () => {
    const text = doc('', incident('inner-red', 'green', ' restriction="red"'), incident('ok', 'green', ' restriction="public"'));
    assert.deepEqual(incidentsFor(text, GREEN), ['ok']);
  });

  test('unmarked: deny withholds incidents without a restriction (none, or `default`, on them and the document)', () => {
    const text = doc('', incident('none'), incident('dflt', 'default'), incident('g', 'green'));
    assert.deepEqual(incidentsFor(text, DENY), ['g']);
    assert.deepEqual(incidentsFor(doc(' restriction="default"', incident('x')), DENY), null);
    assert.deepEqual(incidentsFor(doc(' restriction="green"', incident('x', 'default')), { ...DENY, ...GREEN }), ['x']);
    assert.deepEqual(incidentsFor(text, GREEN), ['none', 'dflt', 'g'], 'unmarked is allowed unless the rule denies it');
  });

  test('uncapped, or all released: the stored text byte for byte, not parsed', () => {
    const text = doc(' restriction="red"', incident('a'));
    const unparsable = { parse: () => { throw new Error('parsed'); }, serialise: () => '' };
    assert.equal(new XmlPayload(text, unparsable).cut(IODEF, {}), text);
    assert.equal(new XmlPayload(text, xmlCodec).cut(IODEF, { maxTlp: 'red' }), text);
  });

  test('a payload nested 30,000 deep is read without recursion: the red marking at the bottom still counts', () => {
    const deep = `<AdditionalData dtype="xml">${'<x:a xmlns:x="urn:x">'.repeat(1)}${'<x:a>'.repeat(30_000)}<Contact restriction="red" role="creator" type="person"/>${'</x:a>'.repeat(30_001)}</AdditionalData>`;
    const text = doc('', incident('deep', 'green').replace('</Incident>', `${deep}</Incident>`), incident('flat', 'green'));
    const t0 = performance.now();
    assert.deepEqual(incidentsFor(text, GREEN), ['flat']);
    assert.ok(performance.now() - t0 < 2000, 'linear, not quadratic');
  });

  test('text that does not parse is withheld from capped nodes', () => {
    assert.equal(new XmlPayload('<IODEF-Document', xmlCodec).cut(IODEF, GREEN), null);
  });
});

const TLP_NS = 'http://data-marking.mitre.org/extensions/MarkingStructure#TLP-1';
const marking = (color: string, cs: string, prefix = 'tlpMarking') =>
  `<marking:Marking><marking:Controlled_Structure>${cs}</marking:Controlled_Structure>` +
  `<marking:Marking_Structure xsi:type="${prefix}:TLPMarkingStructureType" color="${color}"/></marking:Marking>`;
const indicator = (id: string, handling = '') =>
  `<stix:Indicator id="example:indicator-${id}" xsi:type="indicator:IndicatorType"><indicator:Title>${id}</indicator:Title>` +
  (handling ? `<indicator:Handling>${handling}</indicator:Handling>` : '') + '</stix:Indicator>';
const LOCAL = '../../../descendant-or-self::node() | ../../../descendant-or-self::node()/@*';
function pkg(header: string, indicators: string[], ttps: string[] = []): string {
  return `<stix:STIX_Package xmlns:stix="${STIX1_NS}" xmlns:indicator="http://stix.mitre.org/Indicator-2" ` +
    `xmlns:ttp="http://stix.mitre.org/TTP-1" xmlns:marking="http://data-marking.mitre.org/Marking-1" ` +
    `xmlns:tlpMarking="${TLP_NS}" xmlns:tlp2="${TLP_NS}" xmlns:other="urn:example:not-tlp" ` +
    `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="example:Package-1" version="1.2">` +
    (header ? `<stix:STIX_Header><stix:Handling>${header}</stix:Handling></stix:STIX_Header>` : '') +
    (indicators.length ? `<stix:Indicators>${indicators.join('')}</stix:Indicators>` : '') +
    (ttps.length ? `<stix:TTPs>${ttps.map((t) => `<stix:TTP id="example:ttp-${t}" xsi:type="ttp:TTPType"><ttp:Title>${t}</ttp:Title></stix:TTP>`).join('')}</stix:TTPs>` : '') +
    '</stix:STIX_Package>';
}
function titlesFor(text: string, cap: TlpCap, ct: ContentType = STIX1): string[] | null {
  const out = new XmlPayload(text, xmlCodec).cut(ct, cap);
  return out === null ? null : [...out.matchAll(/<(?:indicator|ttp):Title>([^<]+)</g)].map((m) => m[1]!);
}

describe('STIX 1.x TLP markings', () => {
  test('a GREEN package: the indicator marked RED in its own Handling is cut, the rest stays', () => {
    const text = pkg(marking('GREEN', '//node() | //@*'), [indicator('a'), indicator('red', marking('RED', LOCAL)), indicator('b')], ['t']);
    assert.deepEqual(titlesFor(text, GREEN), ['a', 'b', 't']);
    assert.match(new XmlPayload(text, xmlCodec).cut(STIX1, GREEN)!, /<stix:STIX_Header>/);
  });

  test('the package marking covers every object: a RED header withholds the package; the strictest marking wins', () => {
    assert.equal(titlesFor(pkg(marking('RED', '//node()'), [indicator('a', marking('GREEN', LOCAL))]), GREEN), null);
    assert.deepEqual(titlesFor(pkg(marking('AMBER', '//node()'), [indicator('a', marking('GREEN', LOCAL))]), AMBER), ['a']);
  });

  test('a list left empty goes; no object left → nothing is sent', () => {
    const text = pkg('', [indicator('red', marking('RED', LOCAL))], ['t']);
    const out = new XmlPayload(text, xmlCodec).cut(STIX1, GREEN)!;
    assert.doesNotMatch(out, /Indicators/);
    assert.deepEqual(titlesFor(text, GREEN), ['t']);
    assert.equal(titlesFor(pkg('', [indicator('red', marking('RED', LOCAL))]), GREEN), null);
  });

  test('a marking whose Controlled_Structure reaches above its object (absolute XPath, or climbing out) governs the package', () => {
    assert.equal(titlesFor(pkg('', [indicator('a'), indicator('b', marking('RED', '//node()'))]), GREEN), null);
    assert.equal(titlesFor(pkg('', [indicator('a'), indicator('b', marking('RED', '../../../../descendant-or-self::node()'))]), GREEN), null);
  });

  test('the structure type is matched by namespace, not by prefix; other marking types do not count', () => {
    assert.deepEqual(titlesFor(pkg('', [indicator('a'), indicator('b', marking('RED', LOCAL, 'tlp2'))]), GREEN), ['a']);
    assert.deepEqual(titlesFor(pkg('', [indicator('a'), indicator('b', marking('RED', LOCAL, 'other'))]), GREEN), ['a', 'b']);
    assert.deepEqual(titlesFor(pkg('', [indicator('a', marking('PURPLE', LOCAL))]), GREEN), null, 'an unknown colour counts as red');
  });

  test('unmarked: deny keeps only marked objects (its own marking or the package\'s)', () => {
    assert.deepEqual(titlesFor(pkg('', [indicator('a'), indicator('g', marking('GREEN', LOCAL))]), DENY), ['g']);
    assert.deepEqual(titlesFor(pkg(marking('WHITE', '//node()'), [indicator('a')]), DENY), ['a']);
    assert.equal(titlesFor(pkg('', []), DENY), null);
  });

  test('a TAXII 1.1 Content_Block carrying a package is cut inside its block; other content is unmarked', () => {
    const block = (content: string) => `<taxii_11:Content_Block xmlns:taxii_11="${TAXII11_NS}"><taxii_11:Content_Binding binding_id="urn:stix.mitre.org:xml:1.1.1"/>` +
      `<taxii_11:Content>${content}</taxii_11:Content></taxii_11:Content_Block>`;
    const taxii: ContentType = 'application/taxii+xml;version=1.1';
    const text = block(pkg('', [indicator('a', marking('GREEN', LOCAL)), indicator('red', marking('RED', LOCAL))]));
    const out = new XmlPayload(text, xmlCodec).cut(taxii, GREEN)!;
    assert.match(out, /^<taxii_11:Content_Block/);
    assert.deepEqual(titlesFor(text, GREEN, taxii), ['a']);
    assert.equal(new XmlPayload(block('<x xmlns="urn:x"/>'), xmlCodec).cut(taxii, DENY), null);
    assert.equal(new XmlPayload(block('<x xmlns="urn:x"/>'), xmlCodec).cut(taxii, GREEN), block('<x xmlns="urn:x"/>'));
  });

  test('application/xml carries no marking the controller reads: unmarked', () => {
    assert.equal(new XmlPayload('<x xmlns="urn:x"/>', xmlCodec).cut('application/xml', DENY), null);
    assert.equal(new XmlPayload('<x xmlns="urn:x"/>', xmlCodec).cut('application/xml', GREEN), '<x xmlns="urn:x"/>');
  });
});
