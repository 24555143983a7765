// The demo's closing summary: who got in and how, then what each consumer received and what
// its filter or TLP cap cut out, by STIX type and by TLP, in tables a person reads at a glance.
import type { ConsumerSummary, DemoSummary, ObjectCounts } from './demo-types.js';
import type { Packed } from './demo-data.js';
import { countList, filterText, seconds, type Screen } from './demo-screen.js';

const TLP_ROWS = ['clear', 'green', 'amber', 'red', 'unmarked'] as const;

function num(n: number | undefined): string {
  return n ? n.toLocaleString('en-US') : '–';
}

/** What was published and not received, by type. */
export function cutByType(published: ObjectCounts, got: ObjectCounts): Record<string, number> {
  const cut: Record<string, number> = {};
  for (const [t, n] of Object.entries(published.byType)) {
    const d = n - (got.byType[t] ?? 0);
    if (d > 0) cut[t] = d;
  }
  return cut;
}

function how(decidedBy: string): string {
  if (decidedBy.startsWith('auto:')) return `auto: ${decidedBy.slice(5)}`;
  return (decidedBy === 'cli' || decidedBy.startsWith('cli:')) ? 'admin (CLI)' : decidedBy;
}

function receives(c: ConsumerSummary): string {
  const parts = [c.filter ? `filter ${filterText(c.filter)}` : 'everything'];
  if (c.cap) parts.push(`cap ${c.cap}`);
  return parts.join('; ');
}

export function printSummary(screen: Screen, s: DemoSummary, packed: Packed): void {
  const all = (lines: string[]) => lines.forEach((l) => screen.always(l));
  const cons = s.consumers;
  screen.always();
  screen.always(screen.paint(`4. Summary — ${s.published.items} items, ${num(s.published.objects)} objects published to ${s.topic} ` +
    `and delivered in ${seconds(s.replayMs)}`, 'bold', 'blue'));
  all(screen.table(['node', 'approved', 'groups', 'receives', 'items', 'objects', 'live = query'],
    s.registrations.map((r) => {
      const c = cons.find((x) => x.name === r.name);
      return [r.name, r.status === 'approved' ? how(r.decidedBy) : r.status, r.groups.join(','),
        c ? receives(c) : 'publisher', c ? num(c.items) : num(s.published.items), c ? num(c.objects) : num(s.published.objects),
        c ? (c.matchesQuery ? 'yes' : 'NO') : ''];
    })));
  screen.always();
  const types = Object.entries(s.published.byType).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([t]) => t);
  all(screen.table(['objects by type', 'published', ...cons.map((c) => c.name)],
    types.map((t) => [t, num(s.published.byType[t]), ...cons.map((c) => num(c.byType[t]))])));
  screen.always();
  all(screen.table(['objects by TLP', 'published', ...cons.map((c) => c.name)],
    TLP_ROWS.filter((t) => s.published.byTlp[t] || cons.some((c) => c.byTlp[t]))
      .map((t) => [t.toUpperCase(), num(s.published.byTlp[t]), ...cons.map((c) => num(c.byTlp[t]))])));
  screen.always();
  for (const c of cons) {
    const cut = cutByType(s.published, c);
    const total = Object.values(cut).reduce((a, b) => a + b, 0);
    const why = [c.filter ? 'its filter' : '', c.cap ? `its cap (${c.cap})` : ''].filter(Boolean).join(' and ') || 'nothing';
    screen.always(`  ${screen.paint(c.name.padEnd(9), 'bold')}${total ? `${why} cut ${num(total)} objects: ${countList(cut, 4)}` : 'received every object'}` +
      (c.subtopic ? screen.paint(` (subtopic ${c.subtopic})`, 'dim') : ''));
  }
  const bad = cons.filter((c) => !c.matchesQuery);
  if (bad.length === 0) screen.always(screen.paint('  ✓ every consumer received live exactly what a filtered query over the stored items returns', 'green'));
  else screen.warn(`live deliveries differ from the stored items for ${bad.map((c) => c.name).join(', ')} (see above)`);
  if (packed.skipped.length) screen.always(screen.paint(`  ${packed.skipped.length} object(s) were left out of the replay as too big for one item`, 'dim'));
  screen.always(screen.paint('  TLP markings are the demo\'s own, added to a copy of ATT&CK for ICS (which has none).', 'dim'));
}
