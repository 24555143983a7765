// The content types of docs/protocol.md §5's payload table: the one table every layer uses
// (policy files declare them, topics carry one, doors name them).
export const CONTENT_TYPES = [
  'application/stix+json;version=2.1',
  'application/iodef+xml',
  'application/stix+xml;version=1.2',
  'application/taxii+xml;version=1.1',
  'application/xml',
] as const;

export type ContentType = (typeof CONTENT_TYPES)[number];

export const STIX_CONTENT_TYPE: ContentType = 'application/stix+json;version=2.1';
