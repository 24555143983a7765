// A string of its own. V8 makes a substring of 13 characters or more a slice that points into
// its parent and keeps the whole parent alive: an item id or a JID taken from a stanza's
// attributes (the XML parser hands out such slices) holds the entire stanza it came in — a
// whole publish, payload and all — for as long as the id is kept. Measured in the bench's heap
// after W1: every item in the store's index retained its publish IQ (1.7–3.4 KB each), so
// memory grew with history, not with what the cache bounds. What the core keeps for long
// (ids, JIDs) is copied into a string of its own at the point where it is kept.
export function ownString(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}
