// `grid-controller accounts …` (PROTOCOL §11). Through the admin socket while the controller
// runs (so the node is told at once), else straight on the stopped state under the data
// folder's lock. Exit 0 on success; 1 with one clear line on stderr otherwise.
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ConfigError, type Config } from '../config/types.js';
import { createLogger } from '../log.js';
import type { Account } from '../accounts/types.js';
import { adminRequest, controllerRunning } from '../admin/client.js';
import { runOffline } from '../admin/offline.js';
import { splitGroups } from '../admin/ops.js';
import type { AdminOpArgs, AdminOpName, AdminOpResults, ListedAccount } from '../admin/types.js';
import { operatorName } from './operator.js';
import { printable, showAccount } from './accounts-show.js';

const CONFIG_HELP = 'configuration file (YAML or JSON); GRID_<SECTION>_<KEY> env vars override it';
const OFFLINE_NOTE = 'the controller is not running: the node will see its new state at its next registration get';

export function registerAccountsCommand(program: Command): void {
  const accounts = program
    .command('accounts')
    .description('account administration; works while the controller runs (admin socket) and while it is stopped')
    .addHelpText('after', '\nWhile the controller runs, changes go through its admin socket and the node is notified at once.\n' +
      'While it is stopped, they are written to <data>/accounts.json under the data folder lock.');

  accounts.command('list')
    .description('list accounts: jid, status, groups, device type, issuer O, notAfter, decided by, requested groups, fingerprint prefix, last seen')
    .option('--status <status>', 'only accounts in this state: pending, approved, denied, revoked or suspended')
    .option('--json', 'one JSON object per line instead of a table')
    .option('-c, --config <file>', CONFIG_HELP)
    .action((opts: { status?: string; json?: boolean; config?: string }, cmd: Command) =>
      execute(cmd, 'accounts.list', opts.status ? { status: opts.status as AdminOpArgs['accounts.list']['status'] } : {}, (r, cfg) =>
        opts.json ? r.map((a) => JSON.stringify(a)) : table(r, opts.status, cfg.data)));

  accounts.command('show <jid>')
    .description('every stored field of one account: groups requested and granted, certificate, who decided and when, online / last seen')
    .option('--json', 'the account as one JSON object')
    .option('-c, --config <file>', CONFIG_HELP)
    .action((jid: string, opts: { json?: boolean; config?: string }, cmd: Command) =>
      execute(cmd, 'accounts.show', { jid }, (a) => (opts.json ? [JSON.stringify(a)] : showAccount(a))));

  accounts.command('approve <jid>')
    .description('approve an account; without --groups it gets the requested groups that the policy declares')
    .option('--groups <a,b>', 'groups to assign (comma-separated; each must be declared in the policy)')
    .option('-c, --config <file>', CONFIG_HELP)
    .action((jid: string, opts: { groups?: string; config?: string }, cmd: Command) =>
      execute(cmd, 'accounts.approve', opts.groups !== undefined ? { jid, groups: splitGroups(opts.groups), ...operatorName() } : { jid, ...operatorName() }, (a) =>
        [`approved ${a.jid}; groups: ${groupList(a)}`]));

  for (const [name, op, verb] of [
    ['deny', 'accounts.deny', 'denied'],
    ['revoke', 'accounts.revoke', 'revoked'],
  ] as const) {
    accounts.command(`${name} <jid>`)
      .description(`${name} an account: it may not use the grid; its subscriptions end`)
      .option('-c, --config <file>', CONFIG_HELP)
      .action((jid: string, _opts: unknown, cmd: Command) => execute(cmd, op, { jid, ...operatorName() }, (a) => [`${verb} ${a.jid}`]));
  }

  accounts.command('unsuspend <jid>')
    .description('lift the suspension of an account suspended for abusing the rate limits: it is approved again with its groups')
    .option('-c, --config <file>', CONFIG_HELP)
    .action((jid: string, _opts: unknown, cmd: Command) => execute(cmd, 'accounts.unsuspend', { jid, ...operatorName() }, (a) => [`unsuspended ${a.jid}; groups: ${groupList(a)}`]));

  accounts.command('set-groups <jid> <groups>')
    .description('replace the groups of an approved account (comma-separated; "" for none)')
    .option('-c, --config <file>', CONFIG_HELP)
    .action((jid: string, groups: string, _opts: unknown, cmd: Command) =>
      execute(cmd, 'accounts.set-groups', { jid, groups: splitGroups(groups), ...operatorName() }, (a) => [`${a.jid} groups: ${groupList(a)}`]));

  accounts.command('token <jid>')
    .description('make an HTTP Basic token for the TAXII door (taxii.basic: true): printed alone on one line, once; only its hash is kept; a new one replaces the old')
    .option('--revoke', 'end the account\'s token instead')
    .option('-c, --config <file>', CONFIG_HELP)
    .action((jid: string, opts: { revoke?: boolean }, cmd: Command) =>
      execute(cmd, 'accounts.token', { jid, ...(opts.revoke ? { revoke: true } : {}), ...operatorName() }, (r) =>
        (r.token === null ? [`token of ${r.jid} revoked`] : [r.token]), { quiet: true }));

  accounts.command('remove <jid>')
    .description('delete an account and all its subscriptions; the node may register again')
    .option('-c, --config <file>', CONFIG_HELP)
    .action((jid: string, _opts: unknown, cmd: Command) => execute(cmd, 'accounts.remove', { jid, ...operatorName() }, () => [`removed ${jid.toLowerCase()}`]));
}

async function execute<K extends AdminOpName>(cmd: Command, op: K, args: AdminOpArgs[K], render: (r: AdminOpResults[K], cfg: Config) => string[], o: { quiet?: boolean } = {}): Promise<void> {
  try {
    const file = cmd.optsWithGlobals<{ config?: string }>().config;
    const cfg = loadConfig({ file });
    const live = await controllerRunning(cfg.admin.socket);
    // Offline, the service's audit lines go to stderr: the controller's log is not there to take them.
    const r = live
      ? await adminRequest(cfg.admin.socket, op, args)
      : await runOffline(cfg, op, args, createLogger({ level: cfg.log.level, destination: process.stderr }));
    if (!r.ok) return failLine(r.error.text);
    const lines = render(r.result, cfg);
    // A token is the only line on stdout (scripts read it); the offline note goes to stderr then.
    if (!live && op !== 'accounts.list' && op !== 'accounts.show') {
      if (o.quiet) process.stderr.write(`${OFFLINE_NOTE}\n`);
      else lines.push(OFFLINE_NOTE);
    }
    if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
  } catch (err) {
    failLine(err instanceof ConfigError ? err.message : `grid-controller: ${(err as Error).message}`);
  }
}

function failLine(text: string): void {
  process.stderr.write(`${printable(text.split('\n')[0]!)}\n`);
  process.exitCode = 1;
}

function groupList(a: Account): string {
  return a.groups.length ? a.groups.join(', ') : 'none';
}

function table(rows: ListedAccount[], status: string | undefined, data: string): string[] {
  // Say which folder was read: an empty list from the wrong data folder looks like an empty grid.
  if (rows.length === 0) return [`${status ? `no ${status} accounts` : 'no accounts'} in data folder ${data} (another controller's: --config FILE)`];
  const head = ['JID', 'STATUS', 'GROUPS', 'DEVICE', 'ISSUER O', 'NOT AFTER', 'DECIDED BY', 'REQUESTED', 'FINGERPRINT', 'LAST SEEN'];
  const body = rows.map((a) => [
    a.jid,
    a.effective === a.status ? a.status : `${a.effective} (certificate expired)`,
    a.groups.join(',') || '-',
    a.deviceType ?? '-',
    a.cert.issuer.O ?? '-',
    a.cert.notAfter,
    a.decidedBy,
    a.requestedGroups.join(',') || '-',
    fingerprintPrefix(a.cert.fingerprint),
    lastSeen(a),
  ].map(printable));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  return [head, ...body].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
}

/** Enough of the fingerprint to tell certificates apart at a glance (`accounts show` has all). */
function fingerprintPrefix(fp: string): string {
  const hex = fp.replace(/^sha256:/i, '');
  return hex.length > 23 ? `${hex.slice(0, 23)}…` : hex;
}

/** `online`, the last time heard from, or `-` (not since the controller started, or it is stopped). */
function lastSeen(a: ListedAccount): string {
  if (!a.seen) return '-';
  return a.seen.online ? 'online' : (a.seen.lastSeen ?? '-');
}
