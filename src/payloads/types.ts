// Domain types of the payload layer. Pure: nothing here knows XMPP; the XMPP layer hands in
// JSON text or a neutral XML tree and gets plain data back.

/**
 * A neutral XML element, structurally what @xmpp/xml's Element is: `name` may carry a prefix
 * (`stix:STIX_Package`); the namespace comes from `xmlns` / `xmlns:p` attributes, inherited
 * from ancestors (see `namespaceOf`).
 */
export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: (XmlNode | string)[];
}

/** The content types of docs/protocol.md §5's payload table; one per topic. */
export type { ContentType } from './content-types.js';

/** One XML element as a door holds it: the text, and the tree when the door has parsed it. */
export interface XmlContent {
  /** The element serialised on its own (namespaces declared on it): what is stored. */
  text: string;
  /** The parsed element; without it the core parses `text` with the injected XmlCodec. */
  root?: XmlNode;
  /** Outermost first: where inherited namespace declarations come from (with `root`). */
  ancestors?: readonly XmlNode[];
}

/**
 * An item's content, as neutral as the doors can hand it: JSON text for STIX 2.1 topics, one
 * XML element for IODEF, STIX 1.x, TAXII 1.1 and application/xml topics.
 */
export type ContentInput =
  | {
    kind: 'json';
    text: string;
    /** The same content as the XML element that carried it (XMPP's `<json/>`): an application/xml topic takes it as such. */
    element?: XmlContent;
  }
  | ({
    kind: 'xml';
    /**
     * Why the door could not read this element as JSON (XMPP: not `<json xmlns='urn:xmpp:json:0'>`
     * holding text only): a STIX 2.1 topic refuses it with this text, in the door's terms.
     */
    notJson?: string;
  } & XmlContent);

/** Any STIX 2.1 object once it passed validation: `type` and `id` are known to be well formed. */
export interface StixObject {
  type: string;
  id: string;
  [property: string]: unknown;
}

export type StixKind = 'bundle' | 'envelope' | 'object';

/**
 * A validated STIX payload, parsed once and reused for every subtopic's cut.
 * `objects` are the very objects inside `doc` (not copies); `text` is the JSON as received.
 */
export interface ParsedStix {
  kind: StixKind;
  objects: StixObject[];
  doc: unknown;
  text: string;
}


/**
 * XML text ⇄ neutral tree, injected by the XMPP layer (the only one that holds an XML
 * library): the payload layer cuts stored XML payloads without knowing the parser.
 * `parse` returns null for text that is not one well-formed element.
 */
export interface XmlCodec {
  parse(text: string): XmlNode | null;
  serialise(node: XmlNode): string;
}
