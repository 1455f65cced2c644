import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { describeError } from '../core/errors.ts';
import { LocalDiskStorage } from '../storage/local-disk.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { backupDatabase } from './backup.ts';
import { exitOnHelp } from './cli.ts';
import { loadConfig, type AppConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { openStorages } from './storage-factory.ts';
import { listBackups, pruneBackups, readManifest, restoreDatabase } from './restore-db.ts';

/**
 *   npm run backup [-- --keep N]                      # dump DATABASE_URL into the archive; keep the newest N
 *   npm run restore-db -- --list                      # complete backups, oldest first
 *   npm run restore-db -- --id latest --target URL    # verify, then restore into an existing (empty) database
 */
const USAGE = 'usage: backup-cli.ts backup [--keep N] | restore-db (--list | --id <id|latest> --target <postgres-url>)';

/**
 * Backups go to the configured archive (ARCHIVE_DRIVER=s3 → the R2/MinIO archive bucket, local → ARCHIVE_DIR); with no
 * archive configured they land in DATA_DIR/archive, which an operator must copy off the box.
 */
async function archiveStorage(config: AppConfig, logger: Logger): Promise<ObjectStorage> {
  const storages = await openStorages(config, logger);
  return storages.archive ?? new LocalDiskStorage({ root: path.join(config.dataDir, 'archive') });
}

async function main(): Promise<void> {
  exitOnHelp(USAGE);
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { id: { type: 'string' }, target: { type: 'string' }, keep: { type: 'string' }, list: { type: 'boolean', default: false } },
  });
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, base: { role: 'backup' } });
  const storage = await archiveStorage(config, logger);
  try {
    if (positionals[0] === 'backup') {
      const m = await backupDatabase({
        databaseUrl: config.databaseUrl,
        storage,
        logger,
        encryptionKey: config.backupEncryptionKey,
        pgDumpPath: config.pgDumpPath,
      });
      console.log(JSON.stringify(m, null, 2));
      if (values.keep) {
        const pruned = await pruneBackups(storage, Number(values.keep));
        if (pruned.length) console.log(`pruned ${pruned.length} old backup(s): ${pruned.join(', ')}`);
      }
    } else if (positionals[0] === 'restore-db' && values.list) {
      for (const id of await listBackups(storage)) {
        const m = await readManifest(storage, id);
        console.log(`${id}\t${m.database}\t${m.sizeBytes} B\t${m.encryption ? `encrypted key ${m.encryption.keyId}` : 'plain'}`);
      }
    } else if (positionals[0] === 'restore-db' && values.id && values.target) {
      const m = await restoreDatabase({
        storage,
        id: values.id,
        targetUrl: values.target,
        logger,
        encryptionKey: config.backupEncryptionKey,
        workDir: config.workDir,
        pgRestorePath: config.pgRestorePath,
      });
      console.log(`restored backup ${m.id} (${m.database}, ${m.createdAt}), sha256 ${m.sha256} verified`);
    } else {
      throw new Error(USAGE);
    }
  } finally {
    await storage.close();
  }
}

main().catch((err: unknown) => {
  console.error(describeError(err));
  process.exit(1);
});
