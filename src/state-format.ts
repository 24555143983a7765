// The data folder's format version. `<data>/format.json` says which layout the files under it
// follow (accounts.json, topics.json, items/); each JSON state file also carries `version`.
// At start the controller migrates an older layout step by step (MIGRATIONS) or refuses, with
// one line that says what to do, a layout newer than it knows: never guess at such files.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFileDurably } from './store/fsutil.js';

export const DATA_FORMAT = 1;
export const FORMAT_FILE = 'format.json';

/** from → to = from + 1. None yet: format 1 is the first. */
const MIGRATIONS: Record<number, (dataDir: string) => Promise<void>> = {};

export class StateFormatError extends Error {}

interface FormatDoc {
  format: number;
  written_by?: string;
}

/** Checks (and records, on a new or pre-versioned folder) the data folder's format; migrates older ones. */
export async function ensureDataFormat(dataDir: string, version: string): Promise<{ format: number; migrated: number[] }> {
  const file = join(dataDir, FORMAT_FILE);
  let doc: FormatDoc = { format: DATA_FORMAT };
  if (existsSync(file)) {
    try {
      doc = JSON.parse(readFileSync(file, 'utf8')) as FormatDoc;
    } catch (e) {
      throw new StateFormatError(`${file} is unreadable (${(e as Error).message}): restore it from the backup, or put {"format": ${DATA_FORMAT}} in it if the folder was made by this version`);
    }
    if (!Number.isInteger(doc.format) || doc.format < 1) throw new StateFormatError(`${file}: format must be a positive whole number, got ${JSON.stringify(doc.format)}`);
  }
  if (doc.format > DATA_FORMAT) {
    throw new StateFormatError(`data folder ${dataDir} has format ${doc.format}${doc.written_by ? ` (written by grid-controller ${doc.written_by})` : ''}; this grid-controller ${version} reads format ${DATA_FORMAT} at most: run the newer version, or restore the backup taken before the upgrade`);
  }
  const migrated: number[] = [];
  for (let f = doc.format; f < DATA_FORMAT; f++) {
    const step = MIGRATIONS[f];
    if (!step) throw new StateFormatError(`data folder ${dataDir} has format ${f} and no migration to ${f + 1} exists: upgrade through an intermediate release`);
    await step(dataDir);
    migrated.push(f + 1);
  }
  if (!existsSync(file) || migrated.length || doc.written_by !== version) {
    await replaceFileDurably(file, `${JSON.stringify({ format: DATA_FORMAT, written_by: version })}\n`, `${file}.tmp-${process.pid}`);
  }
  return { format: DATA_FORMAT, migrated };
}

/** A JSON state file's own `version`, checked after it is opened. */
export function checkStateVersion(file: string, data: { version?: unknown }, supported: number): void {
  if (data.version === supported) return;
  throw new StateFormatError(`${file} has state version ${JSON.stringify(data.version)}; this controller reads version ${supported}: run the version that wrote it, or restore a backup`);
}
