// Configuration: defaults ← file (YAML or JSON) ← GRID_<SECTION>_<KEY> environment.
// Every key has a default; every key is validated with an error naming it.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, type Config } from './types.js';

export const DEFAULTS: Config = {
  xmpp: { service: 'xmpp://127.0.0.1:5347', domain: 'controller.grid.test', secret: '', reconnect_max_ms: 30000, multicast: 'auto' },
  trust: { ca: ['certs-dev/out/ca.crt'], crl: [], identity: 'xmppaddr' },
  policies: 'policies/',
  data: 'var/',
  limits: {
    payload_bytes: 262144, stanza_bytes: 491520, subscriptions_per_account: 1000, subtopics_per_topic: 1000,
    topics_per_account: 100, max_items: 10000, filter_values: 256, filter_bytes: 16384,
  },
  log: { level: 'info' },
  admin: { socket: '' },
  store: { kind: 'files', url: '', journal_fold_bytes: 1024 * 1024, cache_bytes: 32 * 1024 * 1024, control_on_corrupt: 'refuse' },
  memory: { idle_gc: true },
  metrics: { listen: '' },
  taxii: { listen: '', cert: '', key: '', public_url: '', api_root: 'grid', basic: false, page_default: 100, page_max: 1000 },
};

type Kind = 'string' | 'secret' | 'list' | 'int' | 'identity' | 'path' | 'pathlist' | 'level' | 'multicast' | 'oncorrupt' | 'listen' | 'bool' | 'url' | 'segment' | 'storekind';
const SCHEMA: Record<string, Record<string, Kind> | Kind> = {
  xmpp: { service: 'string', domain: 'string', secret: 'secret', reconnect_max_ms: 'int', multicast: 'multicast' },
  trust: { ca: 'pathlist', crl: 'pathlist', identity: 'identity' },
  policies: 'path',
  data: 'path',
  limits: {
    payload_bytes: 'int', stanza_bytes: 'int', subscriptions_per_account: 'int', subtopics_per_topic: 'int',
    topics_per_account: 'int', max_items: 'int', filter_values: 'int', filter_bytes: 'int',
  },
  log: { level: 'level' },
  admin: { socket: 'path' },
  store: { kind: 'storekind', url: 'secret', journal_fold_bytes: 'int', cache_bytes: 'int', control_on_corrupt: 'oncorrupt' },
  memory: { idle_gc: 'bool' },
  metrics: { listen: 'listen' },
  taxii: { listen: 'listen', cert: 'path', key: 'path', public_url: 'url', api_root: 'segment', basic: 'bool', page_default: 'int', page_max: 'int' },
};
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Folder that relative paths resolve against when there is no file; default cwd. */
  baseDir?: string;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  let raw: Record<string, unknown> = {};
  let base = opts.baseDir ?? process.cwd();
  if (opts.file) {
    raw = readConfigFile(opts.file);
    base = dirname(resolve(opts.file));
  }
  const out = structuredClone(DEFAULTS) as unknown as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!(key in SCHEMA)) throw new ConfigError(key, `unknown key (known: ${Object.keys(SCHEMA).join(', ')})`, opts.file);
  }
  for (const [section, spec] of Object.entries(SCHEMA)) {
    if (typeof spec === 'string') {
      const v = pick(env, `GRID_${section.toUpperCase()}`) ?? raw[section];
      if (v !== undefined) out[section] = coerce(section, spec, v, base);
      else out[section] = coerce(section, spec, out[section], base);
      continue;
    }
    const fileSection = raw[section] ?? {};
    if (typeof fileSection !== 'object' || Array.isArray(fileSection) || fileSection === null) {
      throw new ConfigError(section, 'must be a mapping', opts.file);
    }
    const target = out[section] as Record<string, unknown>;
    for (const key of Object.keys(fileSection)) {
      if (!(key in spec)) throw new ConfigError(`${section}.${key}`, `unknown key (known: ${Object.keys(spec).join(', ')})`, opts.file);
    }
    for (const [key, kind] of Object.entries(spec)) {
      const envName = `GRID_${section.toUpperCase()}_${key.toUpperCase()}`;
      const v = pick(env, envName) ?? (fileSection as Record<string, unknown>)[key] ?? target[key];
      target[key] = coerce(`${section}.${key}`, kind, v, base);
    }
  }
  const cfg = out as unknown as Config;
  if (cfg.limits.stanza_bytes < cfg.limits.payload_bytes + 16384) {
    throw new ConfigError('limits.stanza_bytes', `must be at least limits.payload_bytes + 16384 (${cfg.limits.payload_bytes + 16384}) so one item always fits an answer`);
  }
  // A subtopic (its filter form) must fit one §6 answer and one subtopic message.
  if (cfg.limits.filter_bytes > cfg.limits.stanza_bytes / 4) {
    throw new ConfigError('limits.filter_bytes', `must be at most a quarter of limits.stanza_bytes (${Math.floor(cfg.limits.stanza_bytes / 4)}) so that a subtopic's filter always fits an answer`);
  }
  if (cfg.store.kind === 'postgres' && !/^postgres(ql)?:\/\//.test(cfg.store.url)) {
    throw new ConfigError('store.url', 'must be a postgres:// URL when store.kind is postgres (or set GRID_STORE_URL)');
  }
  if (!cfg.admin.socket) cfg.admin.socket = resolve(cfg.data, 'admin.sock');
  checkTaxii(cfg);
  return cfg;
}

/** The controller cannot run without a secret; CLI tools that only read state can. */
export function requireSecret(cfg: Config): void {
  if (!cfg.xmpp.secret) {
    throw new ConfigError('xmpp.secret', 'is empty: set GRID_XMPP_SECRET (or xmpp.secret in the config file)');
  }
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('--config', `cannot read ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError('--config', `${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc == null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError('--config', `${file} must hold a mapping at the top`);
  return doc as Record<string, unknown>;
}

function pick(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function coerce(key: string, kind: Kind, v: unknown, base: string): unknown {
  const fail = (problem: string): never => {
    throw new ConfigError(key, problem);
  };
  switch (kind) {
    case 'string':
    case 'secret':
      if (typeof v !== 'string') fail(`must be a string, got ${typeof v}`);
      if (kind === 'string' && !(v as string).trim()) fail('must not be empty');
      return v;
    case 'listen':
      // '' is off; else host:port (checked again, with the reason, when the endpoint starts).
      if (typeof v !== 'string' || (v !== '' && !/^(\[[0-9a-fA-F:.]+\]|[^:\[\]\s]+):\d{1,5}$/.test(v))) fail(`must be host:port (e.g. 127.0.0.1:9464) or empty, got ${JSON.stringify(v)}`);
      return v;
    case 'bool':
      if (v === true || v === 'true') return true;
      if (v === false || v === 'false') return false;
      return fail(`must be true or false, got ${JSON.stringify(v)}`);
    case 'url':
      // '' is "derive from listen"; else an absolute https URL without query or fragment.
      if (typeof v !== 'string' || (v !== '' && !/^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(v))) fail(`must be an https:// URL or empty, got ${JSON.stringify(v)}`);
      return (v as string).replace(/\/+$/, '');
    case 'segment':
      if (typeof v !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v) || v === 'taxii2') fail(`must be one path segment ([A-Za-z0-9._-], not taxii2), got ${JSON.stringify(v)}`);
      return v;
    case 'multicast':
      if (v !== 'auto' && v !== 'off') fail('must be auto or off');
      return v;
    case 'storekind':
      if (v !== 'files' && v !== 'postgres') fail('must be files or postgres');
      return v;
    case 'oncorrupt':
      if (v !== 'refuse' && v !== 'backup') fail('must be refuse or backup');
      return v;
    case 'level':
      if (typeof v !== 'string' || !LEVELS.includes(v)) fail(`must be one of ${LEVELS.join(', ')}`);
      return v;
    case 'identity':
      if (v !== 'xmppaddr' && v !== 'xmppaddr-or-cn') fail(`must be "xmppaddr" or "xmppaddr-or-cn", got ${JSON.stringify(v)}`);
      return v;
    case 'int': {
      const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) fail(`must be a positive integer, got ${JSON.stringify(v)}`);
      return n;
    }
    case 'path':
      if (typeof v !== 'string') fail(`must be a path string, got ${typeof v}`);
      return v === '' ? '' : absolutise(v as string, base);
    case 'list':
    case 'pathlist': {
      const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
      if (!Array.isArray(list) || list.some((x) => typeof x !== 'string')) fail('must be a list of strings');
      return kind === 'pathlist' ? (list as string[]).map((p) => absolutise(p, base)) : list;
    }
  }
}

function absolutise(p: string, base: string): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

/** PROTOCOL §13: the TAXII door needs its certificate and key when it listens; paging bounds agree. */
function checkTaxii(cfg: Config): void {
  const t = cfg.taxii;
  if (t.page_default > t.page_max) throw new ConfigError('taxii.page_default', `must be at most taxii.page_max (${t.page_max})`);
  if (!t.listen) return;
  if (!t.cert) throw new ConfigError('taxii.cert', 'is required when taxii.listen is set (PEM server certificate)');
  if (!t.key) throw new ConfigError('taxii.key', 'is required when taxii.listen is set (PEM private key)');
}
