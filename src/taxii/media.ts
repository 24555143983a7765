// Content negotiation (PROTOCOL §13): an Accept of application/taxii+json;version=2.1,
// application/taxii+json or */* (alone or in a list) is answered in 2.1, anything else is
// 406; a request body must be application/taxii+json (bare = 2.1), else 415.

export const TAXII_MEDIA = 'application/taxii+json;version=2.1';
export const STIX_MEDIA = 'application/stix+json;version=2.1';

interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

function parseRange(s: string): MediaRange | null {
  const [head, ...rest] = s.split(';');
  const type = head!.trim().toLowerCase();
  if (!/^[a-z0-9!#$&^_.+*-]+\/[a-z0-9!#$&^_.+*-]+$/.test(type)) return null;
  const params: Record<string, string> = {};
  let q = 1;
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const k = p.slice(0, eq).trim().toLowerCase();
    const v = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (k === 'q') q = Number(v);
    else params[k] = v.toLowerCase();
  }
  return { type, params, q: Number.isFinite(q) ? q : 0 };
}

/** True when `media` (e.g. application/taxii+json, version 2.1) is acceptable under `accept`. */
export function accepts(accept: string | undefined, media: 'taxii' | 'stix'): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  const want = media === 'taxii' ? 'application/taxii+json' : 'application/stix+json';
  for (const part of accept.split(',')) {
    const r = parseRange(part);
    if (!r || r.q <= 0) continue;
    if (r.type === '*/*') return true;
    if (r.type === want && (r.params.version === undefined || r.params.version === '2.1')) return true;
  }
  return false;
}

/** True when a request body's Content-Type is a TAXII 2.1 envelope's. */
export function isTaxiiBody(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const r = parseRange(contentType);
  return !!r && r.type === 'application/taxii+json' && (r.params.version === undefined || r.params.version === '2.1');
}
