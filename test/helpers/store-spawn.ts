// Runs test/helpers/store-crash-child.js and reads its acknowledgement lines.
import { spawn, type ChildProcess } from 'node:child_process';

export type ChildMode = 'items' | 'control' | 'control-map' | 'lock' | 'pg-items' | 'pg-control-map';

const CHILD = new URL('./store-crash-child.js', import.meta.url).pathname;

export interface ChildRun {
  child: ChildProcess;
  /** Resolves with the first `n` lines (or rejects if the child exits first). */
  lines(n: number): Promise<string[]>;
  /** Resolves with every line the child printed, once its stdout is closed. */
  closed: Promise<{ lines: string[]; signal: NodeJS.Signals | null; code: number | null }>;
}

export function startChild(mode: ChildMode, dir: string): ChildRun {
  const child = spawn(process.execPath, [CHILD, mode, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const all: string[] = [];
  let partial = '';
  let stderr = '';
  const waiters: { n: number; resolve: (l: string[]) => void; reject: (e: Error) => void }[] = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) {
      if (all.length >= w.n) w.resolve(all.slice(0, w.n));
      else waiters.push(w);
    }
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    all.push(...parts);
    wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const closed = new Promise<{ lines: string[]; signal: NodeJS.Signals | null; code: number | null }>((resolve) => {
    child.on('close', (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`child exited (${code ?? signal}) after ${all.length} lines: ${stderr}`));
      resolve({ lines: all, signal, code });
    });
  });
  return {
    child,
    closed,
    lines: (n) =>
      new Promise((resolve, reject) => {
        waiters.push({ n, resolve, reject });
        wake();
      }),
  };
}

/** Starts the child, waits for `acks` lines, SIGKILLs it, returns everything it printed. */
export async function killAfter(mode: Exclude<ChildMode, 'lock'>, dir: string, acks: number): Promise<string[]> {
  const run = startChild(mode, dir);
  await run.lines(acks);
  run.child.kill('SIGKILL');
  const { lines, signal } = await run.closed;
  if (signal !== 'SIGKILL') throw new Error(`child ended by ${signal ?? 'exit'}, not SIGKILL`);
  return lines;
}
