// What a control-store mutator changed, at the cost of what it touched (no copy of the state).
//
// The mutator runs on a proxy of the live state. Every write through it (set, delete,
// defineProperty, at any depth) first saves what it overwrites (an undo log: a throwing mutator
// changes nothing) and records the path written: for an object, the path of the property; for
// an array, the path of the array itself (array methods write many indexes and `length`; the
// array is recorded whole). When the mutator returns, the recorded paths are reduced to the
// maximal ones (a path under a recorded path is covered by it) and each is read back from the
// live state: the change is the list of [path, final value] / [path] (deleted).
//
// Why this is exact: a location's value can only change by a write at it or at one of its
// ancestors. Writes reach the state only through proxies, and a proxy's path is the object's
// location as long as no write happened at a proper prefix of it — if one did, that prefix is
// recorded and covers the path. So every changed location lies at or under a maximal recorded
// path, and the parent of a maximal path is the same live object before and after (else a
// prefix would be recorded): applying the change to the state before the mutator gives exactly
// the state after it (applyChanges). Each written value is then replaced in the live state by
// its JSON copy — the very value the journal carries — so the state in memory is always the
// one replay rebuilds (no aliasing of objects the caller keeps, JSON semantics for undefined,
// dates, sparse arrays).
//
// The mutator must change the state only through its argument (as with any ControlStore: the
// `data` getter is for reading); proxies it keeps refuse writes once it has returned.

export type Path = string[];
/** One changed location: [path, value] (set) or [path] (deleted). */
export type Change = [Path] | [Path, unknown];

type Undo = { target: Record<string | symbol, unknown>; key: string; had: boolean; old: unknown } | { array: unknown[]; copy: unknown[] };

const isContainer = (v: unknown): v is object => typeof v === 'object' && v !== null;

export class ChangeTracker<T extends object> {
  readonly root: T;
  private active = true;
  private readonly proxies = new WeakMap<object, object>();
  private readonly raws = new WeakMap<object, object>();
  private readonly savedArrays = new WeakSet<object>();
  private readonly undoLog: Undo[] = [];
  /** JSON of the path → the path, in order of first write. */
  private readonly written = new Map<string, Path>();

  constructor(private readonly state: T) {
    this.root = this.wrap(state, []);
  }

  private wrap<O extends object>(raw: O, path: Path): O {
    const known = this.proxies.get(raw);
    if (known) return known as O;
    const isArray = Array.isArray(raw);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const tracker = this;
    const handler: ProxyHandler<Record<string | symbol, unknown>> = {
      get(t, k) {
        const v = Reflect.get(t, k);
        // Own containers only: never hand out Object.prototype (`x.__proto__`) for writing.
        if (typeof k === 'string' && isContainer(v) && Object.hasOwn(t, k)) return tracker.wrap(v, [...path, k]);
        return v;
      },
      set(t, k, v) {
        const key = tracker.writable(k);
        tracker.before(t, key, path, isArray);
        return Reflect.set(t, key, tracker.unwrap(v));
      },
      deleteProperty(t, k) {
        const key = tracker.writable(k);
        tracker.before(t, key, path, isArray);
        return Reflect.deleteProperty(t, key);
      },
      defineProperty(t, k, desc) {
        const key = tracker.writable(k);
        tracker.before(t, key, path, isArray);
        return Reflect.defineProperty(t, key, 'value' in desc ? { ...desc, value: tracker.unwrap(desc.value) } : desc);
      },
      setPrototypeOf() {
        throw new TypeError('a control-store mutator may not change prototypes');
      },
      preventExtensions() {
        throw new TypeError('a control-store mutator may not freeze or seal the state');
      },
    };
    const proxy = new Proxy(raw as Record<string | symbol, unknown>, handler) as O;
    this.proxies.set(raw, proxy);
    this.raws.set(proxy, raw);
    return proxy;
  }

  private writable(k: string | symbol): string {
    if (!this.active) throw new TypeError('control-store state changed outside its update (a proxy kept past the mutator)');
    if (typeof k === 'symbol') throw new TypeError('control-store state holds JSON: symbol keys cannot be stored');
    if (k === '__proto__') throw new TypeError('control-store state may not hold a key named __proto__');
    return k;
  }

  private unwrap(v: unknown): unknown {
    return isContainer(v) ? (this.raws.get(v) ?? v) : v;
  }

  /** Saves what the write at `t[key]` overwrites and records where it is. */
  private before(t: Record<string, unknown>, key: string, path: Path, isArray: boolean): void {
    if (isArray) {
      if (!this.savedArrays.has(t)) {
        this.savedArrays.add(t);
        this.undoLog.push({ array: t as unknown as unknown[], copy: (t as unknown as unknown[]).slice() });
      }
      this.mark(path);
    } else {
      this.undoLog.push({ target: t, key, had: Object.hasOwn(t, key), old: t[key] });
      this.mark([...path, key]);
    }
  }

  private mark(path: Path): void {
    const k = JSON.stringify(path);
    if (!this.written.has(k)) this.written.set(k, path);
  }

  /** The mutator threw: put back everything it overwrote, newest first. */
  undo(): void {
    this.active = false;
    for (let i = this.undoLog.length - 1; i >= 0; i--) {
      const u = this.undoLog[i]!;
      if ('array' in u) {
        u.array.length = 0;
        for (const v of u.copy) u.array.push(v);
      } else if (u.had) {
        u.target[u.key] = u.old;
      } else {
        delete u.target[u.key];
      }
    }
  }

  /**
   * The mutator returned: the change, with each value's JSON text (what the journal writes),
   * and the live state's written values replaced by their JSON copies.
   */
  finish(): { changes: Change[]; json: string[] } {
    this.active = false;
    // First read every value (JSON.stringify may throw: a cycle, a BigInt), then change the
    // state: a throw leaves it as undo() can restore it.
    const reads: { parent: Record<string, unknown>; key: string; path: Path; v: unknown; text: string | undefined }[] = [];
    for (const [, path] of this.written) {
      if (this.covered(path)) continue;
      const parent = resolveParent(this.state, path);
      if (!parent) throw new Error(`control-store tracker: parent of ${JSON.stringify(path)} vanished (a bug)`);
      const key = path[path.length - 1]!;
      const v = Object.hasOwn(parent, key) ? parent[key] : undefined;
      reads.push({ parent, key, path, v, text: v === undefined ? undefined : JSON.stringify(v) });
    }
    const changes: Change[] = [];
    const json: string[] = [];
    for (const { parent, key, path, v, text } of reads) {
      if (text === undefined) {
        // Deleted, or a value JSON cannot hold (undefined, a function): absent, as after replay.
        if (Object.hasOwn(parent, key)) delete parent[key];
        changes.push([path]);
        json.push(`[${JSON.stringify(path)}]`);
      } else {
        const copy: unknown = JSON.parse(text); // NaN → null, as replay has it
        if (copy !== v) parent[key] = copy;
        changes.push([path, copy]);
        json.push(`[${JSON.stringify(path)},${text}]`);
      }
    }
    return { changes, json };
  }

  private covered(path: Path): boolean {
    for (let n = 1; n < path.length; n++) if (this.written.has(JSON.stringify(path.slice(0, n)))) return true;
    return false;
  }
}

function resolveParent(root: object, path: Path): Record<string, unknown> | undefined {
  let cur: unknown = root;
  for (let i = 0; i < path.length - 1; i++) {
    if (!isContainer(cur) || !Object.hasOwn(cur, path[i]!)) return undefined;
    cur = (cur as Record<string, unknown>)[path[i]!];
  }
  return isContainer(cur) ? (cur as Record<string, unknown>) : undefined;
}

/** Is `v` a well-formed change list (as read back from a journal)? */
export function isChangeList(v: unknown): v is Change[] {
  return Array.isArray(v) && v.every((c) =>
    Array.isArray(c) && (c.length === 1 || c.length === 2) && Array.isArray(c[0]) && c[0].length > 0 &&
    (c[0] as unknown[]).every((k) => typeof k === 'string' && k !== '__proto__'));
}

/** Applies a change list to `root` in place. Throws if a path's parent is missing (not this state's change). */
export function applyChanges(root: object, changes: readonly Change[]): void {
  for (const c of changes) {
    const path = c[0];
    const parent = resolveParent(root, path);
    if (!parent) throw new Error(`the parent of ${JSON.stringify(path)} does not exist`);
    const key = path[path.length - 1]!;
    if (c.length === 1) delete parent[key];
    else parent[key] = c[1];
  }
}
