import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { UploadStaging } from '../api/routes/videos.ts';

/** Deletes a finished upload's tus files (`<id>` data and `<id>.json` info, @tus/file-store's layout) under uploadDir. */
export function createUploadStaging(uploadDir: string): UploadStaging {
  const root = path.resolve(uploadDir);
  return {
    async deleteUpload(sourceKey) {
      const file = path.resolve(root, sourceKey);
      // sourceKey comes from the database, but a path outside the upload dir is never deleted, whatever it says.
      if (path.dirname(file) !== root) return;
      await rm(file, { force: true });
      await rm(`${file}.json`, { force: true });
    },
  };
}
