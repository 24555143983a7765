#!/usr/bin/env node
// `bash scripts/demo.sh` ends here: the demo grid's command line. Ctrl-C (or SIGTERM) stops
// the replay and everything the demo started; a second Ctrl-C exits at once (Prosody is
// killed by the dev grid's exit hook even then).
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_WORK_DIR, runDemo, shortPath } from './demo-run.js';
import { ATTACK_ICS_FILE } from './demo-data.js';
import type { DemoOptions } from './demo-types.js';
import { parseServerKind, SERVER_KINDS, type ServerKind } from './server-profile.js';

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

function serverKind(v: string): ServerKind {
  try {
    return parseServerKind(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function nonNegative(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number of milliseconds (0 or more)');
  return n;
}

export function demoProgram(): Command {
  return new Command('demo')
    .description('Runs a whole XMPP-Grid on this machine: Prosody (or ejabberd) + the controller with the shipped policies/, a sandbox\n' +
      'provider and SOC/partner consumers registering, MITRE ATT&CK for ICS replayed through the grid, then a summary.\n' +
      'Everything it starts is stopped at the end (or on Ctrl-C).')
    .option('--bundles <n>', 'replay only the first n bundles (default: all, about 60)', positive)
    .option('--bundle-size <n>', 'objects per bundle', positive, 30)
    .option('--delay <ms>', 'pause between bundles, so a person can follow', nonNegative, 120)
    .option('--stay', 'keep the grid running after the replay, and show how to connect another node, until Ctrl-C')
    .option('-q, --quiet', 'print only the summary')
    .option('--json', 'print the summary as one JSON line at the end (for scripts)')
    .option('--no-color', 'no colours (they are used only on a terminal anyway)')
    .option('--work-dir <dir>', `certificates, logs and data (default ${shortPath(DEFAULT_WORK_DIR)}; data is fresh each run)`)
    .option('--data <file>', 'the STIX 2.1 bundle to replay', ATTACK_ICS_FILE)
    .option('--server <name>', `the XMPP server: ${SERVER_KINDS.join(' or ')} (default prosody)`, serverKind)
    .option('--cluster', 'instead: two controllers on ejabberd + PostgreSQL, one killed with SIGKILL mid-replay (docs/protocol.md §14)')
    .showHelpAfterError();
}

interface Flags {
  bundles?: number; bundleSize: number; delay: number; stay?: boolean; quiet?: boolean; json?: boolean;
  color: boolean; workDir?: string; data: string; server?: ServerKind; cluster?: boolean;
}

export async function main(argv: string[]): Promise<number> {
  const flags = demoProgram().parse(argv, { from: 'user' }).opts<Flags>();
  if (flags.cluster) {
    const { runClusterDemo } = await import('./demo-cluster.js');
    return runClusterDemo(flags.bundles !== undefined ? { items: flags.bundles } : {}).catch((err: Error) => {
      process.stderr.write(`demo: ${err.message}\n`);
      return 1;
    });
  }
  const stop = new AbortController();
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) process.exit(130);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const o: DemoOptions = {
    bundleSize: flags.bundleSize, delayMs: flags.delay, stay: !!flags.stay, quiet: !!flags.quiet, dataFile: flags.data, signal: stop.signal,
    ...(flags.bundles !== undefined ? { bundles: flags.bundles } : {}), ...(flags.workDir ? { workDir: flags.workDir } : {}),
    ...(flags.color === false ? { color: false } : {}), ...(flags.server ? { server: flags.server } : {}),
  };
  try {
    const summary = await runDemo(o);
    if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    if (summary.aborted) return 130;
    return summary.consumers.every((c) => c.matchesQuery) ? 0 : 1;
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const invoked = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invoked === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
