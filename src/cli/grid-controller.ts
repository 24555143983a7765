#!/usr/bin/env node
// The grid-controller command. One file per command group; this one only assembles them
// and turns any error into one clear line and a non-zero exit.
import { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/types.js';
import { loadConfig } from '../config/load.js';
import type { PolicySubject } from '../policy/types.js';
import type { AccountsState } from '../accounts/types.js';
import { subjectOfAccount } from '../accounts/subject.js';
import { bareJid } from '../jid.js';
import { registerStartCommand } from './start.js';
import { registerCertsCommand } from './certs.js';
import { registerPolicyCommand } from './policy.js';
import { registerAccountsCommand } from './accounts.js';
import { registerTopicsCommand } from './topics.js';
import { registerStatusCommand } from './status.js';
import { packageVersion } from '../agent/version.js';

/** `policy explain` judges a JID as the controller would: from its stored account, if any. */
async function lookupSubject(jid: string, configPath?: string): Promise<PolicySubject | undefined> {
  const cfg = loadConfig({ file: configPath });
  const file = join(cfg.data, 'accounts.json');
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as AccountsState;
  const key = bareJid(jid);
  const a = Object.hasOwn(state.accounts, key) ? state.accounts[key] : undefined;
  return a ? subjectOfAccount(a) : undefined;
}

export function buildProgram(): Command {
  const program = new Command('grid-controller')
    .description('XMPP-Grid controller: approves grid nodes, authorizes topics by policy, carries STIX/IODEF')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .option('-c, --config <file>', 'configuration file (YAML or JSON)')
    .showHelpAfterError()
    .exitOverride();
  registerStartCommand(program);
  registerStatusCommand(program);
  registerCertsCommand(program);
  registerAccountsCommand(program);
  registerTopicsCommand(program);
  registerPolicyCommand(program, { lookupSubject });
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    const msg = err instanceof ConfigError ? err.message : `grid-controller: ${(err as Error).message}`;
    process.stderr.write(`${msg}\n`);
    process.exit(1);
  }
}

void main();
