import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalDiskStorage } from '../local-disk.ts';
import { registerStorageConformance } from './conformance.ts';

registerStorageConformance('LocalDiskStorage', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'ks-local-'));
  const storage = new LocalDiskStorage({ root });
  return {
    storage,
    presigns: false,
    multipartBytes: 0,
    cleanup: async () => {
      // No temp upload files (.part) may survive any test, including the aborted one.
      const left = await readdir(root, { recursive: true });
      if (left.some((f) => f.endsWith('.part'))) throw new Error(`leftover .part files: ${left.join(', ')}`);
      await storage.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});
