// A small typed reader over the `yaml` package's node tree. We validate the parsed nodes
// rather than plain JS values so that every error can name the line it is about; a JSON
// schema validator (ajv) would report instance paths that we would have to map back to
// nodes anyway, and would be one more runtime dependency.
import { isAlias, isMap, isScalar, isSeq, type LineCounter, type Node, type YAMLMap } from 'yaml';
import type { PolicyError } from './types.js';

export class Reader {
  constructor(
    readonly file: string,
    private readonly lc: LineCounter,
    readonly errors: PolicyError[],
  ) {}

  line(node: unknown): number | undefined {
    const range = (node as Node | null)?.range;
    return range ? this.lc.linePos(range[0]).line : undefined;
  }

  error(node: unknown, message: string): void {
    this.errors.push({ file: this.file, line: this.line(node), message });
  }

  /** A mapping with only the allowed keys; reports unknown keys at their line. */
  map(node: unknown, what: string, allowed: readonly string[]): Map<string, Node> | null {
    if (isAlias(node)) return this.noAlias(node);
    if (!isMap(node)) {
      this.error(node, `${what} must be a mapping`);
      return null;
    }
    const out = new Map<string, Node>();
    for (const pair of (node as YAMLMap).items) {
      const key = pair.key;
      if (!isScalar(key) || typeof key.value !== 'string') {
        this.error(key ?? node, `${what}: keys must be plain strings`);
        continue;
      }
      if (!allowed.includes(key.value)) {
        this.error(key, `unknown key '${key.value}' in ${what} (known: ${allowed.join(', ')})`);
        continue;
      }
      out.set(key.value, pair.value as Node);
    }
    return out;
  }

  /** A mapping from free-form string keys to nodes (e.g. `groups:`). */
  dict(node: unknown, what: string): { key: string; keyNode: Node; value: Node }[] | null {
    if (isAlias(node)) return this.noAlias(node);
    if (!isMap(node)) {
      this.error(node, `${what} must be a mapping`);
      return null;
    }
    const out: { key: string; keyNode: Node; value: Node }[] = [];
    for (const pair of (node as YAMLMap).items) {
      const key = pair.key;
      if (!isScalar(key) || (typeof key.value !== 'string' && typeof key.value !== 'number')) {
        this.error(key ?? node, `${what}: keys must be plain strings`);
        continue;
      }
      out.push({ key: String(key.value), keyNode: key, value: pair.value as Node });
    }
    return out;
  }

  seq(node: unknown, what: string): Node[] | null {
    if (isAlias(node)) return this.noAlias(node);
    if (!isSeq(node)) {
      this.error(node, `${what} must be a list`);
      return null;
    }
    return node.items as Node[];
  }

  string(node: unknown, what: string): string | null {
    if (isAlias(node)) return this.noAlias(node);
    if (!isScalar(node) || typeof node.value !== 'string') {
      this.error(node, `${what} must be a string${describe(node)}`);
      return null;
    }
    if (node.value.trim() === '') {
      this.error(node, `${what} is empty`);
      return null;
    }
    return node.value;
  }

  /** A non-empty list of strings; a single string is not accepted, to keep files uniform. */
  stringList(node: unknown, what: string): { value: string; node: Node }[] | null {
    const items = this.seq(node, what);
    if (!items) return null;
    if (items.length === 0) {
      this.error(node, `${what} is an empty list, which matches nothing; leave the key out to match anything`);
      return null;
    }
    const out: { value: string; node: Node }[] = [];
    for (const item of items) {
      const s = this.string(item, `each entry of ${what}`);
      if (s !== null) out.push({ value: s, node: item });
    }
    return out.length === items.length ? out : null;
  }

  oneOf<T extends string>(node: unknown, what: string, allowed: readonly T[]): T | null {
    const s = this.string(node, what);
    if (s === null) return null;
    if (!(allowed as readonly string[]).includes(s)) {
      this.error(node, `${what} '${s}' is not one of ${allowed.join(', ')}`);
      return null;
    }
    return s as T;
  }

  /** An integer from 0 to `max`. */
  nonNegativeInt(node: unknown, what: string, max: number): number | null {
    return this.positiveInt(node, what, max, 0);
  }

  positiveInt(node: unknown, what: string, max: number, min = 1): number | null {
    if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value)) {
      this.error(node, `${what} must be an integer${describe(node)}`);
      return null;
    }
    if (node.value < min || node.value > max) {
      this.error(node, `${what} must be between ${min} and ${max}, not ${node.value}`);
      return null;
    }
    return node.value;
  }

  private noAlias(node: Node): null {
    this.error(node, 'anchors and aliases are not supported in policy files; write the value out');
    return null;
  }
}

function describe(node: unknown): string {
  if (isScalar(node)) {
    if (node.value === null) return ' (it is empty)';
    return ` (it is a ${typeof node.value})`;
  }
  if (isSeq(node)) return ' (it is a list)';
  if (isMap(node)) return ' (it is a mapping)';
  return '';
}
