import { parseArgs } from 'node:util';
import { describeError } from '../core/errors.ts';
import { startApp, type ProcessRole } from './app.ts';
import { exitOnHelp } from './cli.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';

/** Service entry point: `--role api|worker|all` (default all). SIGTERM/SIGINT close gracefully. */
async function main(): Promise<void> {
  exitOnHelp(`usage: npm start [-- --role api|worker|all]   (default all)
  Runs the service: api (HTTP, tus uploads, playback, moderation), worker (transcodes, webhooks, sweeps) or both.
  Configuration from the environment (README "Configuration"); SIGTERM/SIGINT close gracefully.`);
  const { values } = parseArgs({ options: { role: { type: 'string', default: 'all' } } });
  const roles: ProcessRole[] =
    values.role === 'all' ? ['api', 'worker'] : values.role === 'api' || values.role === 'worker' ? [values.role] : [];
  if (roles.length === 0) throw new Error(`--role must be api, worker or all, not ${values.role}`);
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, base: { role: values.role } });
  const app = await startApp({ config, roles, logger });
  // One line that says the process is up (supervisors and the fault-injection tests wait for it).
  logger.info({ roles, url: app.url }, 'started');
  const stop = (signal: string): void => {
    logger.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(describeError(err));
  process.exit(1);
});
