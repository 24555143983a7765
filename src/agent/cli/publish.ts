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

export interface PublishSummary { published: number; failed: number }

/** Publishes every unit; a failed item is reported and counted, the rest go on. */
export async function publishAll(client: GridClient, topic: string, files: string[], o: { split: boolean; id?: string }): Promise<PublishSummary> {
  const units = files.flatMap((f) => unitsOf(readInput(f), f === '-' ? 'stdin' : f, o.split));
  if (o.id && units.length > 1) throw usageError('--id names one item; it cannot be used with several files or --split');
  const p = progress(`published to ${topic}`);
  const summary: PublishSummary = { published: 0, failed: 0 };
  for (const u of units) {
    try {
      const r = await client.publish(topic, u.payload, { ...(o.id ?? u.id ? { id: (o.id ?? u.id)! } : {}) });
      summary.published++;
      if (units.length === 1) info(`published ${u.source} to ${topic} as item ${r.id}`);
    } catch (err) {
      summary.failed++;
      info(`${u.source}${u.id ? ` (${u.id})` : ''}: ${(err as Error).message}`);
      if (units.length === 1) throw err;
    }
    p.tick(summary.published + summary.failed, units.length);
  }
  if (units.length > 1) info(`done: ${summary.published} published, ${summary.failed} failed`);
  return summary;
}
