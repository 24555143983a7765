// Timestamps with microseconds (PROTOCOL §13): an item's `published` and a TAXII object's
// `date_added` are µs since the epoch, written RFC 3339 with six fraction digits. µs fit a
// double exactly until the year 2255 (2^53 µs), so plain numbers suffice.

const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d\d):(\d\d))$/;

/** µs since the epoch (fraction digits beyond 6 cut off: floor), or undefined when `s` is not RFC 3339. */
export function parseMicros(s: string): number | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > 31 || h! > 23 || mi! > 59 || se! > 60) return undefined;
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, Math.min(se!, 59));
  // Date.UTC rolls 31 February over into March: such a date is not a date.
  if (new Date(ms).getUTCDate() !== d) return undefined;
  const frac = Number(((m[7] ?? '') + '000000').slice(0, 6));
  const offset = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) * 60_000;
  if (!m[8] && (Number(m[10]) > 23 || Number(m[11]) > 59)) return undefined;
  return (ms - offset) * 1000 + frac;
}

/** `2026-12-01T10:00:00.000001Z` */
export function formatMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, -1)}${String(us - ms * 1000).padStart(3, '0')}Z`;
}
