// Structural checks of the XML content types (docs/protocol.md §5). Not schema validation: the
// controller checks what it must know to route and what RFC 7970 makes mandatory, no more.
import type { ContentType, XmlNode } from './types.js';
import { fail as failWith, ok, type Result } from '../result.js';
import { childrenNamed, localName, namespaceOf, textOf } from './xml-ns.js';

export const IODEF_NS = 'urn:ietf:params:xml:ns:iodef-2.0';
export const STIX1_NS = 'http://stix.mitre.org/stix-1';
export const TAXII11_NS = 'http://taxii.mitre.org/messages/taxii_xml_binding-1.1';

/** What the checks of an XML payload answer: valid, or invalid-payload with the reason. */
type XmlValidation = Result<void>;
const OK: XmlValidation = ok(undefined);
const fail = (text: string): XmlValidation => failWith('invalid-payload', text);

// RFC 7970 §3.2 Incident@purpose.
const IODEF_PURPOSES = new Set(['traceback', 'mitigation', 'reporting', 'watch', 'other', 'ext-value']);
// RFC 7970 §2.4 DATETIME is xs:dateTime; IODEF asks for a time zone.
const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function rootError(root: XmlNode, ancestors: readonly XmlNode[], ns: string, name: string): string | null {
  const got = namespaceOf(root, ancestors);
  if (localName(root) === name && got === ns) return null;
  return `payload root must be <${name}> in namespace ${ns} (got <${localName(root)}> in ${got ?? 'no namespace'})`;
}

function incidentError(inc: XmlNode, scope: readonly XmlNode[], n: number): string | null {
  const purpose = inc.attrs.purpose;
  if (purpose === undefined) return `Incident ${n}: attribute 'purpose' is required`;
  if (!IODEF_PURPOSES.has(purpose)) return `Incident ${n}: attribute 'purpose' has unknown value "${purpose.slice(0, 40)}"`;
  const ids = childrenNamed(inc, scope, IODEF_NS, 'IncidentID');
  if (ids.length !== 1) return `Incident ${n}: exactly one <IncidentID> is required`;
  if (!ids[0]!.attrs.name) return `Incident ${n}: <IncidentID> needs a 'name' attribute (the CSIRT's domain)`;
  if (textOf(ids[0]!).trim() === '') return `Incident ${n}: <IncidentID> is empty`;
  const times = childrenNamed(inc, scope, IODEF_NS, 'GenerationTime');
  if (times.length !== 1) return `Incident ${n}: exactly one <GenerationTime> is required`;
  if (!DATETIME_RE.test(textOf(times[0]!).trim())) return `Incident ${n}: <GenerationTime> must be an xs:dateTime with a time zone`;
  const contacts = childrenNamed(inc, scope, IODEF_NS, 'Contact');
  if (contacts.length === 0) return `Incident ${n}: at least one <Contact> is required`;
  const bad = contacts.findIndex((c) => !c.attrs.role || !c.attrs.type);
  return bad < 0 ? null : `Incident ${n}: <Contact> ${bad + 1} needs 'role' and 'type' attributes`;
}

/** RFC 7970: IODEF-Document version 2.00 with at least one complete Incident. */
function validateIodef(root: XmlNode, ancestors: readonly XmlNode[]): XmlValidation {
  const err = rootError(root, ancestors, IODEF_NS, 'IODEF-Document');
  if (err) return fail(err);
  if (root.attrs.version !== '2.00') return fail(`IODEF-Document: attribute 'version' must be "2.00"`);
  const scope = [...ancestors, root];
  const incidents = childrenNamed(root, ancestors, IODEF_NS, 'Incident');
  if (incidents.length === 0) return fail('IODEF-Document: at least one <Incident> is required');
  for (let i = 0; i < incidents.length; i++) {
    const e = incidentError(incidents[i]!, scope, i + 1);
    if (e) return fail(e);
  }
  return OK;
}

/** TAXII 1.1 Content_Block: a Content_Binding (with binding_id) and a Content. */
function validateTaxii11(root: XmlNode, ancestors: readonly XmlNode[]): XmlValidation {
  const err = rootError(root, ancestors, TAXII11_NS, 'Content_Block');
  if (err) return fail(err);
  const bindings = childrenNamed(root, ancestors, TAXII11_NS, 'Content_Binding');
  if (bindings.length !== 1) return fail('Content_Block: exactly one <Content_Binding> is required');
  if (!bindings[0]!.attrs.binding_id) return fail("Content_Block: <Content_Binding> needs a 'binding_id' attribute");
  if (childrenNamed(root, ancestors, TAXII11_NS, 'Content').length !== 1) {
    return fail('Content_Block: exactly one <Content> is required');
  }
  return OK;
}

/**
 * Checks an XML item payload against its topic's content type. `payloadNamespace` is the
 * topic's declared namespace (application/xml only). `ancestors` are the elements above
 * `root` (outermost first), for inherited namespace declarations.
 */
export function validateXmlPayload(
  contentType: ContentType | string,
  root: XmlNode,
  opts: { payloadNamespace?: string; ancestors?: readonly XmlNode[] } = {},
): XmlValidation {
  const anc = opts.ancestors ?? [];
  switch (contentType) {
    case 'application/iodef+xml':
      return validateIodef(root, anc);
    case 'application/stix+xml;version=1.2': {
      const err = rootError(root, anc, STIX1_NS, 'STIX_Package');
      return err ? fail(err) : OK;
    }
    case 'application/taxii+xml;version=1.1':
      return validateTaxii11(root, anc);
    case 'application/xml': {
      if (!opts.payloadNamespace) return fail('topic declares no payload_namespace; application/xml payloads cannot be checked');
      const ns = namespaceOf(root, anc);
      return ns === opts.payloadNamespace ? OK
        : fail(`payload root must be in namespace ${opts.payloadNamespace} (got ${ns ?? 'no namespace'})`);
    }
    default:
      return fail(`content type ${contentType} is not an XML content type`);
  }
}
