import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ExifTool } from 'exiftool-vendored';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripImageMetadata } from '../strip.ts';

const run = promisify(execFile);

describe('stripImageMetadata (posters, image uploads)', () => {
  let tmp: string;
  const exiftool = new ExifTool({ maxProcs: 1 });
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-img-'));
  });
  afterAll(async () => {
    await exiftool.end();
    await rm(tmp, { recursive: true, force: true });
  });

  it('removes GPS, camera, owner and dates from a JPEG but keeps its orientation', async () => {
    const jpg = path.join(tmp, 'poster.jpg');
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=96x64', '-frames:v', '1', jpg]);
    await exiftool.write(jpg, {}, ['-GPSLatitude=48.2082', '-GPSLatitudeRef=N', '-GPSLongitude=16.3738', '-GPSLongitudeRef=E',
      '-Make=Apple', '-Model=iPhone 15', '-Artist=Jane Parent', '-DateTimeOriginal=2024:05:01 10:00:00', '-Orientation#=6',
      '-XMP:CreatorCity=Vienna', '-overwrite_original']);
    const before = await exiftool.read(jpg);
    expect(before.GPSLatitude).toBeDefined();
    expect(before.Make).toBe('Apple');

    await stripImageMetadata(exiftool, jpg);
    const after = await exiftool.read(jpg);
    const leaked = Object.keys(after).filter((k) => /gps|make|model|artist|datetimeoriginal|creatorcity/i.test(k));
    expect(leaked).toEqual([]);
    expect(after.Orientation).toBe(6);
    expect(after.ImageWidth).toBe(96);
    expect(await readdir(tmp)).toEqual(['poster.jpg']);
  });
});
