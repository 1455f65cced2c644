import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deleteTusUpload, VideoFiles } from '../video-files.ts';

describe('tus upload deletion', () => {
  let root: string;
  let uploads: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'ks-files-'));
    uploads = path.join(root, 'uploads');
    await mkdir(uploads);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('deletes the data file and its .json info, and counts what was there', async () => {
    const file = path.join(uploads, 'abc');
    await writeFile(file, 'data');
    await writeFile(`${file}.json`, '{}');
    await writeFile(path.join(uploads, 'other'), 'keep');
    expect(await deleteTusUpload(file)).toBe(2);
    expect(await readdir(uploads)).toEqual(['other']);
    // An infected upload was moved to quarantine first: only its info is left, and a second call finds nothing.
    await writeFile(`${file}.json`, '{}');
    expect(await deleteTusUpload(file)).toBe(1);
    expect(await deleteTusUpload(file)).toBe(0);
  });

  it('removes a symlinked upload without following it, and never leaves the upload dir for a stored key', async () => {
    const outside = path.join(root, 'outside');
    await writeFile(outside, 'not ours');
    await symlink(outside, path.join(uploads, 'link'));
    const files = new VideoFiles({ uploadDir: uploads, mastersDir: path.join(root, 'masters'), workDir: path.join(root, 'work') });
    expect(await files.deleteUpload('link')).toBe(1);
    expect(await files.deleteUpload('../outside')).toBe(0);
    expect(await readdir(root)).toEqual(expect.arrayContaining(['outside']));
    expect(await readdir(uploads)).toEqual([]);
  });
});
