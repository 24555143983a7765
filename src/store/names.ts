// Topic name ⇄ log file name. Topic names hold `/`, `.`, `-`, `_`, `~` and letters; file
// names must not hold `/` and should not differ only by case (macOS, Windows). So: lower-case
// letters, digits, `.`, `-`, `_` stay; every other byte of the UTF-8 form becomes `%HH`.
// `%` itself is always escaped, which keeps the mapping one-to-one and reversible.

export const LOG_SUFFIX = '.log';
// 255 bytes per file name, less room for `.log` and the longest side-file suffix
// (`.torn-<ms>`, `.bad-<ms>`, `.v1-<ms>`, `.seq`, `.compact-tmp`: at most 19 bytes).
const MAX_ENCODED = 230;

const KEEP = /[a-z0-9._-]/;

export function topicToFileName(topic: string): string {
  if (topic.length === 0) throw new RangeError('topic name is empty');
  let out = '';
  for (const byte of Buffer.from(topic, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && KEEP.test(ch) ? ch : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  if (out.length > MAX_ENCODED) {
    throw new RangeError(`topic name too long to store: ${out.length} bytes once encoded for a file name, at most ${MAX_ENCODED}`);
  }
  return out + LOG_SUFFIX;
}

/** The topic for a log file name, or undefined if the name is not one of ours. */
export function fileNameToTopic(name: string): string | undefined {
  if (!name.endsWith(LOG_SUFFIX)) return undefined;
  const enc = name.slice(0, -LOG_SUFFIX.length);
  if (!/^(?:[a-z0-9._-]|%[0-9A-F]{2})+$/.test(enc)) return undefined;
  try {
    const topic = decodeURIComponent(enc);
    return topicToFileName(topic) === name ? topic : undefined;
  } catch {
    return undefined;
  }
}
