import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { startController } from '../main.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the controller in the foreground; JSON logs (pino) on stdout')
    .option('-c, --config <file>', 'configuration file (YAML or JSON); GRID_<SECTION>_<KEY> env vars override it')
    .addHelpText('after', '\nThe component secret is best given as GRID_XMPP_SECRET. Stops cleanly on SIGINT/SIGTERM.')
    .action(async (opts: { config?: string }) => {
      const cfg = loadConfig({ file: opts.config ?? program.opts<{ config?: string }>().config });
      const log = createLogger({ level: cfg.log.level });
      let ctl: Awaited<ReturnType<typeof startController>>;
      try {
        ctl = await startController(cfg, log);
      } catch (err) {
        log.fatal({ err: { message: (err as Error).message } }, 'start failed');
        log.flush();
        throw err;
      }
      const shutdown = async (sig: string) => {
        log.info({ signal: sig }, 'shutting down');
        await ctl.stop();
        log.flush();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
    });
}
