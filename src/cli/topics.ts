// `grid-controller topics list` (PROTOCOL §11): topics, subtopics, publishers, subscriber
// counts. From the running controller (admin socket), else from the stored state.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { adminRequest, controllerRunning } from '../admin/client.js';
import type { TopicsState } from '../topics/types.js';
import { printable } from './accounts-show.js';

interface Row {
  name: string;
  content_type: string;
  filtering: string;
  source: string;
  publishers: string[];
  subscribers: number;
  subtopics: { node: string; subscribers: number; filter: Record<string, string[]> }[];
  /** From the running controller only (the item store's memory): see admin/topic-stats.ts. */
  items?: number;
  published_by?: string[];
  last_published?: string | null;
}

export function registerTopicsCommand(program: Command): void {
  const topics = program.command('topics').description('the topic directory as the controller holds it');
  topics
    .command('list')
    .description('topics, subtopics, publishers, subscriber counts; while the controller runs also items stored, who published them and when last')
    .option('--json', 'one JSON object per topic per line')
    .option('-c, --config <file>', 'configuration file (YAML or JSON)')
    .action(async (opts: { json?: boolean; config?: string }) => {
      const cfg = loadConfig({ file: opts.config ?? program.opts<{ config?: string }>().config });
      let rows: Row[];
      if (await controllerRunning(cfg.admin.socket)) {
        const r = await adminRequest(cfg.admin.socket, 'topics.list', {});
        if (!r.ok) throw new Error(`${r.error.code}: ${r.error.text}`);
        rows = r.result as Row[];
      } else {
        rows = fromState(join(cfg.data, 'topics.json'));
        process.stderr.write('(controller not running: read from the stored state)\n');
      }
      for (const line of opts.json ? rows.map((r) => JSON.stringify(r)) : render(rows).map(printable)) process.stdout.write(`${line}\n`);
    });
}

function fromState(file: string): Row[] {
  if (!existsSync(file)) return [];
  const s = JSON.parse(readFileSync(file, 'utf8')) as TopicsState;
  const subs = Object.values(s.subscriptions);
  return Object.values(s.topics).map((t) => {
    const mine = subs.filter((x) => x.topic === t.name);
    const groups = new Map<string, { node: string; subscribers: number; filter: Record<string, string[]> }>();
    for (const x of mine) {
      if (!x.subtopic || !x.filter) continue;
      const g = groups.get(x.subtopic) ?? { node: x.subtopic, subscribers: 0, filter: x.filter };
      g.subscribers++;
      groups.set(x.subtopic, g);
    }
    return { name: t.name, content_type: t.contentType, filtering: t.filtering, source: t.source, publishers: t.publishers, subscribers: mine.length, subtopics: [...groups.values()] };
  });
}

function render(rows: Row[]): string[] {
  if (!rows.length) return ['no topics'];
  const out: string[] = [];
  for (const r of rows.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    out.push(`${r.name}  [${r.content_type}; filtering ${r.filtering}; ${r.source}]  subscribers ${r.subscribers}  publishers ${r.publishers.join(', ') || '-'}`);
    if (r.items !== undefined) {
      out.push(`  items ${r.items}  published by ${r.published_by?.join(', ') || '-'}  last published ${r.last_published ?? '-'}`);
    }
    for (const s of r.subtopics) {
      const f = Object.entries(s.filter).map(([k, v]) => `${k}=${v.join(',')}`).join(' ');
      out.push(`  ${s.node}  subscribers ${s.subscribers}  filter ${f}`);
    }
  }
  return out;
}
