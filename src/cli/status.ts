// `grid-controller status`: what `prosodyctl status` is to Prosody. Asks the running
// controller over its admin socket; exit 0 when it answers, 1 (one line on stderr) when not.
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../config/types.js';
import { adminRequest } from '../admin/client.js';
import { CORE_KEYS, type StatusReport } from '../admin/status.js';
import { printable } from './accounts-show.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('is the controller running, and how is it: version, uptime, XMPP link, accounts, topics, items, policy')
    .option('--json', 'the whole report as one JSON object')
    .option('-c, --config <file>', 'configuration file (YAML or JSON)')
    .addHelpText('after', '\nExit status: 0 when the controller answers on its admin socket, 1 when it does not.')
    .action(async (opts: { json?: boolean; config?: string }, cmd: Command) => {
      try {
        const cfg = loadConfig({ file: opts.config ?? cmd.optsWithGlobals<{ config?: string }>().config });
        const r = await adminRequest(cfg.admin.socket, 'status', {}, 5000);
        if (!r.ok) {
          process.stderr.write(`grid-controller is not running (${printable(r.error.text)})\n`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(opts.json ? `${JSON.stringify(r.result)}\n` : `${renderStatus(r.result).join('\n')}\n`);
      } catch (err) {
        process.stderr.write(`${err instanceof ConfigError ? err.message : `grid-controller: ${(err as Error).message}`}\n`);
        process.exitCode = 1;
      }
    });
}

function duration(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h ${m}m` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}

export function renderStatus(r: StatusReport): string[] {
  const a = r.accounts;
  const mc = r.multicast;
  const rl = r.policy.last_reload;
  const lines = [
    `grid-controller ${r.version} running (pid ${r.pid}), up ${duration(r.uptime_s)} since ${r.started_at}`,
    `xmpp       ${r.xmpp.link}${r.xmpp.link === 'down' && r.xmpp.reconnecting ? ' (reconnecting)' : ''}  ${r.xmpp.domain} via ${r.xmpp.service}`,
    `multicast  ${mc.in_use ? `in use (${mc.hosts.join(', ')})` : mc.mode === 'off' ? 'off (xmpp.multicast: off)' : 'not in use (no server offers it)'}; ${mc.messages} messages, ${mc.copies} copies, ${mc.fallbacks} fallbacks`,
    `taxii      ${r.taxii.url ?? 'off'}`,
    `metrics    ${r.metrics.url ?? 'off'}`,
    `accounts   ${Object.entries(a.by_state).map(([k, n]) => `${n} ${k}`).join(', ')}; ${a.online} online`,
    `pending    ${a.pending.length ? a.pending.map((p) => `${p.jid}${p.device_type ? ` (${p.device_type})` : ''} asks for ${p.requested_groups.join(',') || 'no groups'}`).join('; ') : 'none'}`,
    `topics     ${r.topics.topics} topics, ${r.topics.subtopics} subtopics, ${r.topics.subscriptions} subscriptions`,
    `items      ${r.items.stored} stored`,
    `policy     ${r.policy.digest}  ${r.policy.files.length} files, ${r.policy.rules} rules, loaded ${r.policy.loaded_at}`,
    `reload     ${rl === null ? 'none since start' : rl.ok ? `ok at ${rl.at}` : `REJECTED at ${rl.at}: ${(rl.errors ?? []).join('; ')} (the last good policy stays in force)`}`,
  ];
  // Sections other parts of the controller add: shown as one JSON line each.
  for (const [k, v] of Object.entries(r)) {
    if (k === 'cluster' && isCluster(v)) lines.push(...renderCluster(v));
    else if (!CORE_KEYS.includes(k)) lines.push(`${k.padEnd(10)} ${JSON.stringify(v)}`);
  }
  return lines.map(printable);
}

interface ClusterSection {
  instance: string;
  instances: { id: string; host: string; pid: number; state: string; self: boolean; xmpp: string; store: string; policy_digest: string; heartbeat_age_s: number; feed_lag_ms: number }[];
}

const isCluster = (v: unknown): v is ClusterSection => typeof v === 'object' && v !== null && Array.isArray((v as ClusterSection).instances);

/** One line per instance of a cluster (§14): a differing policy digest is marked. */
function renderCluster(c: ClusterSection): string[] {
  const mine = c.instances.find((i) => i.self)?.policy_digest;
  return [`cluster    ${c.instances.length} instances (this one: ${c.instance})`, ...c.instances.map((i) =>
    `  ${i.self ? '*' : ' '} ${i.id}  ${i.state}  xmpp ${i.xmpp}  store ${i.store}  heartbeat ${i.heartbeat_age_s}s ago  lag ${i.feed_lag_ms} ms  policy ${i.policy_digest.slice(0, 19)}${mine && i.policy_digest !== mine ? ' (DIFFERS)' : ''}`)];
}
