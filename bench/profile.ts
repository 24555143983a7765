// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, top N.
import { readFileSync } from 'node:fs';

interface ProfNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
interface Profile { nodes: ProfNode[]; startTime: number; endTime: number; samples: number[] }

export interface HotFunction { fn: string; where: string; self_pct: number }

export function topFunctions(file: string, n = 15): { total_ms: number; top: HotFunction[] } {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const hits = new Map<string, number>();
  let total = 0;
  for (const node of prof.nodes) {
    const h = node.hitCount ?? 0;
    if (!h) continue;
    const cf = node.callFrame;
    const where = cf.url ? `${cf.url.replace(/^file:\/\/.*?node_modules\//, 'nm/').replace(/^file:\/\/.*?\/dist\//, '')}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'}\t${where}`;
    hits.set(key, (hits.get(key) ?? 0) + h);
    total += h;
  }
  const top = [...hits.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, h]) => {
    const [fn, where] = k.split('\t');
    return { fn: fn!, where: where!, self_pct: +((100 * h) / total).toFixed(1) };
  });
  return { total_ms: Math.round((prof.endTime - prof.startTime) / 1000), top };
}
