// stdout carries data only (one JSON object a line); everything for people goes to stderr.
import { GridError, toGridError } from '../errors.js';
import type { ItemEvent, QueryItem } from '../grid-types.js';
import { hintFor } from './hints.js';

export function dataLine(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

let quiet = false;
export function setQuiet(q: boolean): void { quiet = q; }

/** A progress or status line for people (stderr); silenced by --quiet. */
export function info(message: string): void {
  if (!quiet) process.stderr.write(`grid-node: ${message}\n`);
}

/** The one-line error of a failed command (always printed). */
export function errorLine(err: unknown): string {
  const e = err instanceof GridError ? err : toGridError(err);
  const hint = hintFor(e);
  return `grid-node: ${hint ? `${hint} (${e.message.split('\n')[0]})` : e.message.split('\n')[0]}`;
}

/** The JSON line of a received item: fixed key order so lines diff well. */
export function itemLine(e: ItemEvent | QueryItem): Record<string, unknown> {
  return {
    topic: e.topic, id: e.id, seq: e.seq ?? null, published: e.published ?? null, publisher: e.publisher ?? null,
    subid: 'subid' in e ? (e.subid ?? null) : null, payload: e.payload,
  };
}

/** Progress for long runs: at most one line a second, always the final count. */
export function progress(label: string): { tick(n: number, total?: number): void } {
  let lastAt = Date.now();
  return {
    tick(n, total) {
      const now = Date.now();
      if (now - lastAt < 1000 && n !== total) return;
      lastAt = now;
      info(`${label}: ${n}${total !== undefined ? `/${total}` : ''}`);
    },
  };
}
