// The TLP cut of a stored XML payload, per content type (PROTOCOL §5 "Marking-based
// release"); the STIX 2.1 cut is filters/cut.ts. XML text is parsed and written by the
// codec the XMPP layer injects: this layer holds no XML library.
import type { TlpCap } from '../filters/types.js';
import { tlpAllowed } from '../filters/tlp.js';
import type { ContentType, XmlCodec, XmlNode } from './types.js';
import type { XmlCutResult } from './xml-tlp.js';
import { cutIodef } from './iodef-tlp.js';
import { cutStix1, cutTaxii11 } from './stix1-tlp.js';

const capped = (cap: TlpCap): boolean => cap.maxTlp !== undefined || cap.unmarked === 'deny';

/**
 * A stored XML payload, parsed at most once however many caps it is cut for (one publish
 * fans out to several caps). Text that does not parse is withheld from capped nodes.
 */
export class XmlPayload {
  private root: XmlNode | null | undefined;

  constructor(readonly text: string, private readonly codec: XmlCodec) {}

  /** The text a node with this cap may receive, or null when nothing is left. */
  cut(contentType: ContentType, cap: TlpCap): string | null {
    if (!capped(cap)) return this.text;
    const r = this.cutTree(contentType, cap);
    return r === 'all' ? this.text : r === null ? null : this.codec.serialise(r);
  }

  private cutTree(contentType: ContentType, cap: TlpCap): XmlCutResult {
    // Payloads nothing reads a marking from are unmarked: released unless the cap denies those.
    const unmarked = tlpAllowed(undefined, cap) ? 'all' : null;
    if (contentType === 'application/xml') return unmarked;
    if (this.root === undefined) this.root = this.codec.parse(this.text);
    const root = this.root;
    if (root === null) return null;
    switch (contentType) {
      case 'application/iodef+xml': return cutIodef(root, cap);
      case 'application/stix+xml;version=1.2': return cutStix1(root, [], cap);
      case 'application/taxii+xml;version=1.1': return cutTaxii11(root, cap) ?? unmarked;
      default: return null;
    }
  }
}
