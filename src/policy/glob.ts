// Topic names, topic globs and client globs (PROTOCOL §3, §4).
//
// Topic globs: `*` matches within one segment; `**` is a whole segment that matches zero or
// more segments. So `threat-intel/**` matches `threat-intel/x/y` AND `threat-intel` itself
// (like MQTT's `#`): a rule written for a tree covers its root, which is what a deny rule on
// `internal/**` must do to be safe, and what a permit on `threat-intel/**` is meant to say.
// Client globs: `*` matches any run of characters except `@` and `/`; the glob `*` alone
// matches every client.
import type { Glob } from './types.js';

const SEGMENT = '[a-z0-9][a-z0-9._-]*';
const TOPIC_RE = new RegExp(`^${SEGMENT}(?:/${SEGMENT})*$`);
/** A topic or a subtopic node id `<topic>~<16 hex>`. */
const NODE_RE = new RegExp(`^(${SEGMENT}(?:/${SEGMENT})*)(?:~[0-9a-f]{16})?$`);
export const MAX_TOPIC_LENGTH = 128;

/** Why a topic name is not valid, or null when it is. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'topic name is empty';
  if (name.length > MAX_TOPIC_LENGTH) return `topic name is ${name.length} characters; at most ${MAX_TOPIC_LENGTH}`;
  if (name.includes('~')) return "'~' is never part of a topic name (it separates subtopics)";
  if (!TOPIC_RE.test(name)) {
    return 'topic names are segments of [a-z0-9][a-z0-9._-]* joined by /';
  }
  return null;
}

/**
 * The topic that decides for a node id: a subtopic `topic~hash` is judged by its parent.
 * Returns null when the node id is neither a valid topic nor a valid subtopic.
 */
export function topicOfNode(node: string): string | null {
  if (node.length > MAX_TOPIC_LENGTH + 17) return null;
  const m = NODE_RE.exec(node);
  if (!m || m[1].length > MAX_TOPIC_LENGTH) return null;
  return m[1];
}

const GLOB_SEGMENT_RE = /^[a-z0-9*][a-z0-9._*-]*$/;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

function segmentRe(seg: string): string {
  if (seg === '*') return '[^/]+';
  return seg.split('*').map(escapeRe).join('[^/]*');
}

/** Compiles a topic glob, or returns why it is malformed. */
export function compileTopicGlob(glob: string): Glob | string {
  if (glob.length === 0) return 'empty topic glob';
  if (glob.length > MAX_TOPIC_LENGTH) return `topic glob is ${glob.length} characters; at most ${MAX_TOPIC_LENGTH}`;
  if (glob.includes('~')) return "'~' is never part of a topic name: subtopics are judged by their parent topic";
  const segs = glob.split('/');
  let re = '^';
  let prevDouble = false;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    if (seg === '') return `empty segment in topic glob '${glob}'`;
    if (seg === '**') {
      if (prevDouble) return `'**/**' in '${glob}': one '**' already matches any number of segments`;
      prevDouble = true;
      if (segs.length === 1) re += `[^/]+(?:/[^/]+)*`;
      else if (i === 0) re += '(?:[^/]+/)*';
      else re += '(?:/[^/]+)*';
      continue;
    }
    if (seg.includes('**')) return `'**' must be a whole segment in '${glob}' (use '*' within a segment)`;
    if (!GLOB_SEGMENT_RE.test(seg)) {
      return `bad segment '${seg}' in topic glob '${glob}': use a-z, 0-9, '.', '_', '-' and '*', starting with a letter, digit or '*'`;
    }
    // A leading '**' already ends with its '/', so the segment after it takes none.
    const sep = i === 0 || (i === 1 && segs[0] === '**') ? '' : '/';
    re += sep + segmentRe(seg);
    prevDouble = false;
  }
  const head = segs[0];
  return { source: glob, re: new RegExp(re + '$'), literalHead: head.includes('*') ? null : head };
}

/** Compiles a client (bare JID) glob, or returns why it is malformed. Matching is case-insensitive. */
export function compileClientGlob(glob: string): Glob | string {
  if (glob.length === 0) return 'empty client glob';
  if (glob.length > 3071) return 'client glob longer than a JID can be';
  if (/\s/.test(glob)) return `client glob '${glob}' contains white space`;
  if (glob.includes('/')) return `client glob '${glob}' has a resource: rules match bare JIDs`;
  if (glob.split('@').length > 2) return `client glob '${glob}' has more than one '@'`;
  if (glob.startsWith('@') || glob.endsWith('@')) return `client glob '${glob}' has an empty local part or domain`;
  // `*` alone is every client: the way a permit rule says "everyone" (schema-rule.ts).
  if (glob === '*') return { source: glob, re: /^[^@/]+@[^@/]+$|^[^@/]+$/, literalHead: null };
  const re = '^' + glob.toLowerCase().split('*').map(escapeRe).join('[^@/]*') + '$';
  return { source: glob, re: new RegExp(re), literalHead: null };
}

/** Lower-cased bare JID: drops a resource if one slipped through. */
