#!/usr/bin/env node
// `grid-node`: a grid node's command line (PROTOCOL §2–§7) on the GridClient library.
// stdout carries data only; progress and errors go to stderr; exit 0 on success, 1 on error.
import { Command, Option } from 'commander';
import { errorLine, setQuiet } from './output.js';
import { packageVersion } from '../version.js';
import { csrCmd } from './csr.js';
import { provideCmd, publishCmd, queryCmd, registerCmd, statusCmd, subscribeCmd, topicsCmd, type SubscribeFlags } from './commands.js';
import { followCmd } from './follow.js';

const collect = (v: string, prev: string[]) => [...prev, v];

/** Connection options on every subcommand, so each `--help` lists them. */
function connection(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'YAML/JSON file with service, domain, cert, key, ca (env GRID_NODE_CONFIG)')
    .option('--service <url>', 'xmpps://host:port (direct TLS) or xmpp://host:port (STARTTLS) (env GRID_NODE_SERVICE)')
    .option('--domain <domain>', 'XMPP domain, e.g. grid.test (env GRID_NODE_DOMAIN)')
    .option('--cert <file>', "the node's certificate, PEM (env GRID_NODE_CERT)")
    .option('--key <file>', "the certificate's private key, PEM (env GRID_NODE_KEY)")
    .option('--ca <file>', "CA that issued the server's certificate, PEM (env GRID_NODE_CA)")
    .option('--resource <name>', 'XMPP resource to bind; default grid-node-<random>, one per process, each with its own subscriptions (env GRID_NODE_RESOURCE)')
    .option('--controller <jid>', 'controller JID (default controller.<domain>) (env GRID_NODE_CONTROLLER)')
    .option('-q, --quiet', 'no progress lines on stderr');
}

function run<A extends unknown[]>(fn: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    const opts = args.find((a) => a && typeof a === 'object' && !Array.isArray(a) && !(a instanceof Command)) as { quiet?: boolean } | undefined;
    setQuiet(!!opts?.quiet);
    try {
      await fn(...args);
      process.exit(0);
    } catch (err) {
      process.stderr.write(errorLine(err) + '\n');
      process.exit(1);
    }
  };
}

const program = new Command('grid-node')
  .description('Connect a security product to an XMPP-Grid: register, discover topics, publish, subscribe, query')
  .version(packageVersion(), '-V, --version', 'print the version and exit')
  .showHelpAfterError();

connection(program.command('register'))
  .description('register this node (certificate + signed challenge) and print the account state')
  .option('--groups <a,b>', 'authorization groups to request')
  .option('--device-type <type>', 'firewall, siem, ids, sandbox, tip, …')
  .option('--description <text>', 'free text shown to administrators')
  .addOption(new Option('--wait [seconds]', 'wait for approval (default 300 s)'))
  .option('--json', 'print the state as a JSON line')
  .action(run(registerCmd));

connection(program.command('status'))
  .description("print the account's state and groups")
  .option('--json', 'print the state as a JSON line')
  .action(run(statusCmd));

connection(program.command('topics'))
  .description('list the topics this node may discover, with content type, filter fields and publishers')
  .option('--json', 'one JSON line per topic')
  .action(run(topicsCmd));

connection(program.command('publish'))
  .description('publish JSON (STIX object, bundle or envelope) or XML (IODEF …) files; "-" or nothing reads stdin')
  .argument('<topic>', 'topic name, e.g. threat-intel/indicators')
  .argument('[files...]', 'files to publish, one item each')
  .option('--split', 'publish each object of a bundle as its own item (item id = STIX id)')
  .option('--id <item-id>', 'item id (one file only); publishing an existing id overwrites it')
  .action(run(publishCmd));

connection(program.command('subscribe'))
  .description('subscribe and print every item received as one JSON line on stdout')
  .argument('<topic>', 'topic name')
  .option('--filter <field=v1,v2>', 'filter field (repeatable): type, tlp, min_confidence, labels, …', collect, [] as string[])
  .option('--count <n>', 'exit after n items')
  .option('--keep', 'keep the subscription when the command exits (with --resource, to come back to it); without it the subscription ends with the session')
  .option('--state <file>', 'keep the last seq handed on in this file; catch up from it on start and after every reconnect')
  .option('--after-seq <n>', 'with --state: where to begin when the file has no place yet (default 0: all stored items)')
  .action(run((topic: string, f: SubscribeFlags & { state?: string; afterSeq?: string }) =>
    f.state ? followCmd(topic, { ...f, state: f.state }) : subscribeCmd(topic, f)));

connection(program.command('query'))
  .description('print stored items (filtered) as JSON lines, oldest first')
  .argument('<topic>', 'topic name')
  .option('--filter <field=v1,v2>', 'filter field (repeatable)', collect, [] as string[])
  .option('--added-after <date-time>', 'only items published after this XEP-0082 date-time')
  .option('--after-seq <n>', 'only items with seq > n (catch up after a subscription gap)')
  .option('--limit <n>', 'at most n items in all')
  .option('--page-size <n>', 'items per request (the controller allows at most 1000)')
  .action(run(queryCmd));

connection(program.command('provide'))
  .description('register as publisher and publish every file that appears in a folder; moves it to .published/ or .failed/')
  .argument('<topic>', 'topic name')
  .requiredOption('--watch <dir>', 'folder to watch')
  .option('--split', 'publish each object of a bundle as its own item')
  .action(run(provideCmd));

program.command('csr')
  .description("make this node's private key and a certificate request for the grid operator's CA (the key never leaves the node)")
  .requiredOption('--jid <jid>', "the node's bare JID, e.g. soc1@grid.example (CN of the request)")
  .requiredOption('--out-key <file>', 'where to write the new private key (mode 0600; never overwritten)')
  .requiredOption('--out-csr <file>', 'where to write the CSR (PEM)')
  .option('--key-type <type>', 'rsa (2048 bits, default) or ec (P-256)')
  .option('--o <org>', 'organization (O) to propose in the subject')
  .option('--ou <unit>', 'organizational unit (OU) to propose in the subject (policies may match it)')
  .option('-q, --quiet', 'no progress lines on stderr')
  .action(run(csrCmd));

program.parseAsync().catch((err) => {
  process.stderr.write(errorLine(err) + '\n');
  process.exit(1);
});
