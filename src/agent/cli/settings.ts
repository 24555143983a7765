// Connection settings of `grid-node`: flags win over environment (GRID_NODE_*), which wins
// over a config file (--config or GRID_NODE_CONFIG, YAML or JSON; relative paths resolve
// against the file's folder). Certificate and key are passed as paths, never printed.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { GridClientOptions } from '../grid-types.js';
import { usageError } from '../errors.js';

export interface ConnectionFlags {
  config?: string;
  service?: string;
  domain?: string;
  cert?: string;
  key?: string;
  ca?: string;
  resource?: string;
  controller?: string;
}

const KEYS = ['service', 'domain', 'cert', 'key', 'ca', 'resource', 'controller'] as const;
type Key = (typeof KEYS)[number];
const PATHS = new Set<Key>(['cert', 'key', 'ca']);

function readConfig(file: string): Partial<Record<Key, string>> {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8')); // YAML is a superset of JSON
  } catch (err) {
    throw usageError(`config ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw usageError(`config ${file}: expected a mapping of ${KEYS.join(', ')}`);
  const out: Partial<Record<Key, string>> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!(KEYS as readonly string[]).includes(k)) throw usageError(`config ${file}: unknown key "${k}" (known: ${KEYS.join(', ')})`);
    if (typeof v !== 'string') throw usageError(`config ${file}: "${k}" must be a string`);
    out[k as Key] = PATHS.has(k as Key) ? resolve(dirname(file), v) : v;
  }
  return out;
}

/** Merges flags, GRID_NODE_* and the config file; names the missing setting and all three ways to give it. */
export function resolveSettings(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Record<Key, string | undefined> {
  const configFile = flags.config ?? env.GRID_NODE_CONFIG;
  const file = configFile ? readConfig(resolve(configFile)) : {};
  const out = {} as Record<Key, string | undefined>;
  for (const k of KEYS) out[k] = flags[k] ?? env[`GRID_NODE_${k.toUpperCase()}`] ?? file[k];
  for (const k of ['service', 'domain', 'cert', 'key'] as const) {
    if (!out[k]) throw usageError(`missing ${k}: pass --${k}, set GRID_NODE_${k.toUpperCase()}, or put "${k}" in a --config file`);
  }
  return out;
}

export function clientOptions(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): GridClientOptions {
  const s = resolveSettings(flags, env);
  let ca: string | undefined;
  if (s.ca) {
    try {
      ca = readFileSync(s.ca, 'utf8');
    } catch (err) {
      throw usageError(`cannot read the CA file ${s.ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  for (const k of ['cert', 'key'] as const) {
    try {
      readFileSync(s[k]!, { flag: 'r' });
    } catch (err) {
      throw usageError(`cannot read the ${k === 'cert' ? 'certificate' : 'key'} file ${s[k]}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return {
    service: s.service!, domain: s.domain!, certFile: s.cert!, keyFile: s.key!,
    ...(ca ? { ca } : {}), ...(s.resource ? { resource: s.resource } : {}), ...(s.controller ? { controller: s.controller } : {}),
  };
}
