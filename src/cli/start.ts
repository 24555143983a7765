import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { startController, type RunningController } from '../main.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the controller in the foreground; JSON logs (pino) on stdout')
    .option('-c, --config <file>', 'configuration file (YAML or JSON); GRID_<SECTION>_<KEY> env vars override it')
    .addHelpText('after', '\nThe component secret is best given as GRID_XMPP_SECRET. Stops cleanly on SIGINT/SIGTERM.')
    .action(async (opts: { config?: string }) => {
      const cfg = loadConfig({ file: opts.config ?? program.opts<{ config?: string }>().config });
      const log = createLogger({ level: cfg.log.level });
      // Signals are caught from the first moment: one that arrives while starting stops the
      // controller as soon as the start has settled, never half-way through it.
      let ctl: RunningController | undefined;
      let stopping: Promise<void> | undefined;
      const starting = new AbortController();
      const shutdown = (sig: string) => {
        stopping ??= (async () => {
          log.info({ signal: sig }, 'shutting down');
          starting.abort(); // a start still waiting for the XMPP server gives up now
          await ready.catch(() => undefined);
          await ctl?.stop();
          log.flush();
          process.exit(0);
        })();
      };
      // A stray rejection must not take the grid down: log it loudly and go on. An uncaught
      // exception leaves the process in an unknown state: log, stop, exit non-zero so a
      // supervisor restarts it (state is durable; nothing acknowledged is lost).
      process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection (bug): controller keeps running'));
      process.on('uncaughtException', (err) => {
        log.fatal({ err }, 'uncaught exception (bug): stopping');
        log.flush();
        void (ctl?.stop() ?? Promise.resolve()).finally(() => process.exit(70));
      });
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      const ready = startController(cfg, log, { signal: starting.signal });
      try {
        ctl = await ready;
      } catch (err) {
        if (starting.signal.aborted) return; // stopped by a signal while starting: shutdown exits 0
        log.fatal({ err: { message: (err as Error).message } }, 'start failed');
        log.flush();
        throw err;
      }
    });
}
