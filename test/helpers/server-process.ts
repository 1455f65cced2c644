/**
 * The API as a separate process, for crash tests: configured from its environment like ops/main.ts, it prints one
 * JSON line `{"url": …}` once listening. Tests SIGKILL it and start it again on the same data dir and port.
 */
import { startApp } from '../../ops/app.ts';
import { loadConfig } from '../../ops/config.ts';
import { createLogger } from '../../ops/logger.ts';

const config = loadConfig(process.env);
const app = await startApp({ config, roles: ['api'], logger: createLogger({ level: config.logLevel }) });
process.stdout.write(`${JSON.stringify({ url: app.url })}\n`);
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
