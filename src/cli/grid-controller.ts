#!/usr/bin/env node
// The grid-controller command. One file per command group; this one only assembles them
// and turns any error into one clear line and a non-zero exit.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/types.js';
import { registerStartCommand } from './start.js';
import { registerCertsCommand } from './certs.js';
import { registerPolicyCommand } from './policy.js';
import { registerAccountsCommand } from './accounts.js';
import { registerTopicsCommand } from './topics.js';

export function buildProgram(): Command {
  const program = new Command('grid-controller')
    .description('XMPP-Grid controller: approves grid nodes, authorizes topics by policy, carries STIX/IODEF')
    .option('-c, --config <file>', 'configuration file (YAML or JSON)')
    .showHelpAfterError()
    .exitOverride();
  registerStartCommand(program);
  registerCertsCommand(program);
  registerAccountsCommand(program);
  registerTopicsCommand(program);
  registerPolicyCommand(program);
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
