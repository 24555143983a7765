// What the demo prints: short lines a person can follow, colours only on a TTY, and tables.
// Quiet mode keeps the summary (and warnings) only.

const CODES = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 } as const;
export type Style = keyof typeof CODES;

export class Screen {
  private readonly color: boolean;

  constructor(private readonly out: NodeJS.WritableStream, o: { color?: boolean; quiet?: boolean } = {}) {
    this.color = o.color ?? ((out as { isTTY?: boolean }).isTTY === true && !process.env.NO_COLOR);
    this.quiet = o.quiet ?? false;
  }

  readonly quiet: boolean;

  paint(s: string, ...styles: Style[]): string {
    if (!this.color || styles.length === 0) return s;
    return `\x1b[${styles.map((k) => CODES[k]).join(';')}m${s}\x1b[0m`;
  }

  /** A progress line (hidden when quiet). */
  line(s = ''): void {
    if (!this.quiet) this.out.write(`${s}\n`);
  }

  /** Always shown: the summary and anything that went wrong. */
  always(s = ''): void {
    this.out.write(`${s}\n`);
  }

  section(title: string): void {
    this.line();
    this.line(this.paint(title, 'bold', 'blue'));
  }

  ok(s: string): void {
    this.line(`  ${this.paint('✓', 'green')} ${s}`);
  }

  warn(s: string): void {
    this.always(`  ${this.paint('!', 'yellow', 'bold')} ${s}`);
  }

  /** A table with a header row; columns after the first are right-aligned when numeric. */
  table(head: string[], rows: string[][], indent = '  '): string[] {
    const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const numeric = head.map((_, i) => i > 0 && rows.every((r) => /^[\d.,–-]*$/.test(r[i] ?? '')));
    const fmt = (r: string[]) => r.map((c, i) => (numeric[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join('  ').trimEnd();
    return [
      indent + this.paint(fmt(head), 'bold'),
      indent + this.paint(width.map((w) => '─'.repeat(w)).join('  '), 'dim'),
      ...rows.map((r) => indent + fmt(r)),
    ];
  }
}

/** "relationship 22, attack-pattern 3, …" — the largest counts first, at most `max` entries. */
export function countList(byKey: Record<string, number>, max = 4): string {
  const e = Object.entries(byKey).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = e.slice(0, max).map(([k, n]) => `${k} ${n}`);
  if (e.length > max) shown.push(`+${e.length - max} types`);
  return shown.join(', ');
}

export function filterText(f: Record<string, unknown> | undefined): string {
  if (!f || Object.keys(f).length === 0) return 'none';
  return Object.entries(f).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : String(v)}`).join(' ');
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
