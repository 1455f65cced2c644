import { createScratchDatabase, type ScratchDatabase } from '../../ops/dev-database.ts';
import { TEST_ADMIN_DATABASE_URL } from './env.ts';

export type TestDatabase = ScratchDatabase;

/** A fresh, empty database per test file, so files never see each other's rows. */
export function createTestDatabase(): Promise<TestDatabase> {
  return createScratchDatabase(TEST_ADMIN_DATABASE_URL, 't');
}
