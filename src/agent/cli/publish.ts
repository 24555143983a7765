// `grid-node publish`: files (or stdin) → items. A JSON file is one item (an object, bundle or
// envelope; a top-level array becomes an envelope); `--split` makes each object of a bundle
// its own item, with the STIX id as item id so a re-publish overwrites. XML is one item.
import { readFileSync } from 'node:fs';
import type { GridClient } from '../client.js';
import type { Payload } from '../grid-types.js';
import { usageError } from '../errors.js';
import { parseXml, splitObjects } from '../payloads.js';
import { info, progress } from './output.js';

export interface PublishUnit { payload: Payload; id?: string; source: string }

export function readInput(file: string): string {
  try {
    return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${file === '-' ? 'stdin' : file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The items one file's text makes. Format by the first character: `{`/`[` JSON, `<` XML. */
export function unitsOf(text: string, source: string, split: boolean): PublishUnit[] {
  const body = text.replace(/^\uFEFF/, '').trimStart();
  if (body.startsWith('<')) {
    parseXml(body); // well-formed, one root: fail here with the file's name rather than at the controller
    return [{ payload: body, source }];
  }
  if (!body.startsWith('{') && !body.startsWith('[')) throw usageError(`${source}: neither JSON (starts with { or [) nor XML (starts with <)`);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw usageError(`${source}: invalid JSON: ${(err as Error).message}`);
  }
  const obj = (Array.isArray(json) ? { objects: json } : json) as Record<string, unknown>;
  if (!split) return [{ payload: obj, source }];
  return splitObjects(obj).map((o) => ({ payload: o, ...(typeof o.id === 'string' ? { id: o.id } : {}), source }));
}

export interface FileOutcome {
  source: string;
  /** Item ids published from this file. */
  published: string[];
  /** Why the file, or some of its items, was not published. */
  errors: string[];
}

export interface PublishSummary { published: number; failed: number; files: FileOutcome[] }

/**
 * Reads and checks every file before anything is sent, then publishes the items of the good
 * ones; each file gets its own line saying what was published and what was not.
 */
export async function publishAll(client: Pick<GridClient, 'publish'>, topic: string, files: string[], o: { split: boolean; id?: string }): Promise<PublishSummary> {
  const read = files.map((f) => {
    const source = f === '-' ? 'stdin' : f;
    try {
      return { source, units: unitsOf(readInput(f), source, o.split) };
    } catch (err) {
      return { source, units: [] as PublishUnit[], error: err as Error };
    }
  });
  if (read.length === 1 && read[0]!.error) throw read[0]!.error; // one file: its error is the command's
  const total = read.reduce((n, r) => n + r.units.length, 0);
  if (o.id && (total > 1 || read.length > 1)) throw usageError('--id names one item; it cannot be used with several files or --split');
  const p = progress(`published to ${topic}`);
  const summary: PublishSummary = { published: 0, failed: 0, files: [] };
  for (const r of read) {
    const f: FileOutcome = { source: r.source, published: [], errors: r.error ? [r.error.message] : [] };
    summary.files.push(f);
    if (r.error) summary.failed++;
    for (const u of r.units) {
      try {
        f.published.push((await client.publish(topic, u.payload, { ...(o.id ?? u.id ? { id: (o.id ?? u.id)! } : {}) })).id);
        summary.published++;
      } catch (err) {
        summary.failed++;
        f.errors.push(`${u.id ? `${u.id}: ` : ''}${(err as Error).message}`);
        if (total === 1 && read.length === 1) throw err;
      }
      p.tick(summary.published + summary.failed, total);
    }
    info(fileLine(f, topic));
  }
  if (read.length > 1 || total > 1) info(`done: ${summary.published} published, ${summary.failed} not published`);
  return summary;
}

function fileLine(f: FileOutcome, topic: string): string {
  const ids = f.published.length === 1 ? `as item ${f.published[0]}` : `${f.published.length} items`;
  if (!f.errors.length) return `published ${f.source} to ${topic} ${ids}`;
  const why = f.errors.length === 1 ? f.errors[0]! : `${f.errors.length} items failed, first: ${f.errors[0]}`;
  return f.published.length ? `${f.source}: published ${ids}, not all: ${why}` : `${f.source}: not published: ${why}`;
}
